"""From webhook JSON to typed events (messenger-platform.md §1.3 and §2).

:func:`events_of_body` is what a splitter calls on a stored body: it never raises,
whatever the bytes. Every item either becomes a :class:`ParsedItem` (its typed event and
its :class:`RawItem`, ready to queue) or a :class:`Rejected` with one of
:data:`REJECT_REASONS`, so one malformed item costs only itself (issue 8, finding 2).
:func:`split_body` and :func:`parse_item` are its two steps: strict about the envelope
(``object`` must be ``page`` or ``instagram``), lenient inside it. Every field is type-checked: an optional
field of the wrong type is treated as absent, a required one as missing, and a number that
is not a finite, plausible value (``NaN``, ``1e400``) as missing.

Instagram (issue 15, messenger-platform.md §1.3, §9): an ``object: instagram`` body's entries are
keyed by the Instagram professional account's id; :func:`split_body` gives each the id of the Page
that account is linked to (``instagram_accounts``) and the channel ``instagram``, or rejects it
``unknown_instagram_account``. Its ``messaging[]`` items have the Messenger shapes (text, quick
replies, attachments, postbacks, echoes with ``is_echo``; ``messaging_seen`` as ``read``, with a
``mid`` rather than a ``watermark`` [U]: the item's timestamp serves as the watermark); its
``changes[]`` of field ``comments`` or ``live_comments`` carry ``{id, text, from: {id, username},
media: {id, media_product_type}, parent_id?}`` (Meta's Instagram webhooks reference; the
``live_comments`` value taken to be the same shape [U]). Every shopper id is their IGSID, keyed
``ig:<IGSID>`` (:mod:`bot.channels`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .channels import INSTAGRAM, MESSENGER, WEBHOOK_OBJECTS, shopper_key
from .errors import BadEvent
from .events import (
    SOURCES,
    Attachment,
    CommentEvent,
    DeliveryEvent,
    EchoEvent,
    Event,
    FeedEvent,
    HandoverEvent,
    LiveVideoEvent,
    MarketingEchoEvent,
    MarketingOptinEvent,
    MessageEvent,
    MessagingEvent,
    OtnOptinEvent,
    PostbackEvent,
    RawItem,
    ReadEvent,
    Referral,
    ReferralEvent,
    StandbyEvent,
    TemplateStatusEvent,
)
from .json_input import MAX_DEPTH, NotJson, TooDeep, brief, clean, clean_text, load_json

HANDOVER_KEYS = ("pass_thread_control", "take_thread_control", "request_thread_control", "app_roles")

# Why a part of a body was not queued (counted as salebell_events_rejected_total{reason}).
REJECT_REASONS = (
    "malformed_body",   # not JSON, or not a page event: nothing in it can be read
    "malformed_entry",  # an entry without an id, or whose messaging/changes/standby is not a list
    "malformed_item",   # an item that is not an object, nested too deeply, or that the parser could not read
    "unknown_entry",    # an entry with none of messaging, changes, standby
    "unknown_kind",     # an item of a kind we do not know
    "missing_field",    # an item without a field its kind needs (or with one of the wrong type)
    "unknown_instagram_account",  # an object: instagram entry for an account no served Page is linked to
)

# The review states of a utility message template Meta may report (``message_template_status_update``) [U].
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED",
                     "PENDING_DELETION", "DELETED", "IN_APPEAL", "LIMIT_EXCEEDED")

# Beyond 2**53 a JSON number (a double for most senders) holds no exact millisecond, and no clock is there.
MAX_MS = 2**53


class NotPageEvent(ValueError):
    """The body is not JSON, or not a Messenger/Page or Instagram event (``object`` is neither ``page`` nor
    ``instagram``)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item that could not be queued, with the reason it is counted under."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One item that parsed: its event, and what a splitter queues for it (``Queued(ordering_key, dedupe_key,
    payload)``), each already computed, so none of them can fail later."""

    event: Event
    raw: RawItem
    ordering_key: str
    dedupe_key: str
    payload: str  # raw.to_json(), checked to encode as UTF-8


def events_of_body(body: bytes, instagram_accounts: Mapping[str, str] | None = None
                   ) -> tuple[list[ParsedItem], list[Rejected]]:
    """Every item of a stored webhook body as an event or a rejection; never raises, for any bytes.
    ``instagram_accounts``: the Instagram account id -> Page id of the Pages served (:func:`split_body`)."""
    try:
        items, rejected = split_body(load_json(body, strict=False), instagram_accounts)
    except (NotJson, NotPageEvent) as exc:
        return [], [Rejected("malformed_body", str(exc))]
    except Exception as exc:  # not foreseen by the checks in split_body; the body is unreadable
        return [], [Rejected("malformed_body", f"{type(exc).__name__} while splitting the body")]
    parsed: list[ParsedItem] = []
    for raw in items:
        try:
            event = parse_item(raw)
            ordering_key, dedupe_key, payload = event.ordering_key, event.dedupe_key, raw.to_json()
            payload.encode("utf-8")
        except BadEvent as exc:
            rejected.append(Rejected(exc.reason, exc.detail))
        except Exception as exc:  # a bug in an event class: this item only
            rejected.append(Rejected("malformed_item", f"{type(exc).__name__} while keying a {raw.source} item"))
        else:
            parsed.append(ParsedItem(event, raw, ordering_key, dedupe_key, payload))
    return parsed, rejected


def check_envelope(body: Any) -> list[Any]:
    """Return the entries of a page (or instagram) webhook body, or raise :class:`NotPageEvent`."""
    if not isinstance(body, dict):
        raise NotPageEvent("body is not a JSON object")
    if body.get("object") not in WEBHOOK_OBJECTS:
        raise NotPageEvent(f"object is {brief(body.get('object'))}, expected 'page' or 'instagram'")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise NotPageEvent("entry is missing or not a list")
    return entries


def split_body(body: Any, instagram_accounts: Mapping[str, str] | None = None
               ) -> tuple[list[RawItem], list[Rejected]]:
    """Every item of every entry as a cleaned :class:`RawItem`; malformed parts as :class:`Rejected`.

    An Instagram entry's id is an Instagram account's: its items get the id of the Page
    ``instagram_accounts`` links it to, or the entry is rejected ``unknown_instagram_account``."""
    items: list[RawItem] = []
    rejected: list[Rejected] = []
    entries = check_envelope(body)
    channel = WEBHOOK_OBJECTS[body["object"]]
    for entry in entries:
        if not isinstance(entry, dict) or _id_of(entry.get("id")) is None:
            rejected.append(Rejected("malformed_entry", "entry without an id"))
            continue
        page_id = clean_text(str(entry["id"]))
        if channel == INSTAGRAM:
            linked = (instagram_accounts or {}).get(page_id)
            if linked is None:
                rejected.append(Rejected("unknown_instagram_account",
                                         f"Instagram account {brief(page_id)} is linked to no Page served here"))
                continue
            page_id = linked
        entry_time = _as_ms(entry.get("time"))
        found = False
        for source in SOURCES:
            values = entry.get(source)
            if values is None:
                continue
            found = True
            if not isinstance(values, list):
                rejected.append(Rejected("malformed_entry", f"{source} is not a list"))
                continue
            for item in values:
                if not isinstance(item, dict):
                    rejected.append(Rejected("malformed_item", f"{source} item is not an object"))
                    continue
                try:
                    items.append(RawItem(page_id, source, entry_time, clean(item, MAX_DEPTH - 4), channel))
                except TooDeep:  # the body is 4 levels above the item
                    rejected.append(Rejected("malformed_item", f"{source} item nested deeper than {MAX_DEPTH} levels"))
        if not found:
            rejected.append(Rejected("unknown_entry", "entry has no messaging, changes or standby"))
    return items, rejected


def parse_item(raw: RawItem) -> Event:
    """Turn one queued item into a typed event; raise :class:`BadEvent` (and nothing else) if it cannot be one."""
    try:
        if not isinstance(raw.item, dict):
            raise BadEvent("malformed_item", f"{raw.source} item is not an object")
        if raw.source == "changes":
            return _parse_instagram_change(raw) if raw.channel == INSTAGRAM else _parse_change(raw)
        event = _parse_messaging(raw.page_id, raw.item, raw.channel)
        if raw.source == "standby":
            return StandbyEvent(page_id=raw.page_id, timestamp=event.timestamp, raw=raw.item, channel=raw.channel,
                                psid=event.psid, inner=event)
        return event
    except BadEvent:
        raise
    except Exception as exc:  # a shape the checks did not foresee: it costs this item only
        raise BadEvent("malformed_item", f"{type(exc).__name__} while parsing a {raw.source} item") from exc


def _parse_messaging(page_id: str, item: dict[str, Any], channel: str = MESSENGER) -> MessagingEvent:
    sender = shopper_key(channel, _id(item, "sender"))
    recipient = shopper_key(channel, _id(item, "recipient"))
    ts = _as_ms(item.get("timestamp"))
    if not ts:
        raise BadEvent("missing_field", "timestamp")
    common: dict[str, Any] = dict(page_id=page_id, timestamp=ts, raw=item, channel=channel)
    if "message" in item:
        msg = _dict(item, "message")
        if msg.get("is_echo") is True:
            return EchoEvent(**common, psid=recipient, mid=_str(msg, "mid"), app_id=_id_of(msg.get("app_id")),
                             text=_opt_str(msg.get("text")), metadata=_opt_str(msg.get("metadata")))
        quick = msg.get("quick_reply")
        reply_to = msg.get("reply_to")
        return MessageEvent(
            **common, psid=sender, mid=_str(msg, "mid"), text=_opt_str(msg.get("text")),
            quick_reply_payload=_opt_str(quick.get("payload")) if isinstance(quick, dict) else None,
            attachments=tuple(_attachment(a) for a in _list(msg.get("attachments")) if isinstance(a, dict)),
            reply_to_mid=_opt_str(reply_to.get("mid")) if isinstance(reply_to, dict) else None,
        )
    if "postback" in item:
        pb = _dict(item, "postback")
        return PostbackEvent(**common, psid=sender, mid=_opt_str(pb.get("mid")), title=_opt_str(pb.get("title")),
                             payload=_opt_str(pb.get("payload")), referral=_referral(pb.get("referral")))
    if "referral" in item:
        return ReferralEvent(**common, psid=sender, referral=_referral(item.get("referral")))
    if "optin" in item:
        return _parse_optin(common, sender, _dict(item, "optin"))
    if "delivery" in item:
        d = _dict(item, "delivery")
        return DeliveryEvent(**common, psid=sender, watermark=_as_ms(d.get("watermark")),
                             mids=tuple(m for m in _list(d.get("mids")) if isinstance(m, str)))
    if "read" in item:
        watermark = _as_ms(_dict(item, "read").get("watermark"))
        if channel == INSTAGRAM and not watermark:  # messaging_seen names the mid seen, not a watermark [U]
            watermark = ts
        return ReadEvent(**common, psid=sender, watermark=watermark)
    for key in HANDOVER_KEYS:
        if key in item:
            metadata = _opt_str(_obj(item[key]).get("metadata"))
            return HandoverEvent(**common, psid=sender, action=key, metadata=metadata)
    raise BadEvent("unknown_kind", "messaging item with keys " + ",".join(k[:24] for k in sorted(item)[:8]))


def _parse_optin(common: dict[str, Any], psid: str, optin: dict[str, Any]) -> MessagingEvent:
    kind = optin.get("type")
    if kind == "one_time_notif_req" or "one_time_notif_token" in optin:
        return OtnOptinEvent(**common, psid=psid, token=_str(optin, "one_time_notif_token"),
                             payload=_opt_str(optin.get("payload")))
    if kind == "notification_messages" or "notification_messages_token" in optin:
        status = optin.get("notification_messages_status")
        if isinstance(status, str) and status.strip():
            status = status.strip().upper().replace(" ", "_")
        else:
            status = None
        expiry = optin.get("token_expiry_timestamp")
        return MarketingOptinEvent(
            **common, psid=psid, token=_str(optin, "notification_messages_token"),
            title=_opt_str(optin.get("title")), payload=_opt_str(optin.get("payload")),
            frequency=_opt_str(optin.get("notification_messages_frequency")),
            timezone=_opt_str(optin.get("notification_messages_timezone")),
            token_expiry=_whole(expiry), user_token_status=_opt_str(optin.get("user_token_status")), status=status,
        )
    raise BadEvent("unknown_kind", f"optin of type {brief(kind)}")


def _field_and_value(change: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A ``changes[]`` item's ``field`` and its ``value`` object (BadEvent when there is none)."""
    value = change.get("value")
    if not isinstance(value, dict):
        raise BadEvent("missing_field", "changes[].value")
    return change.get("field"), value


def _parse_change(raw: RawItem) -> Event:
    change = raw.item
    field_name, value = _field_and_value(change)
    if field_name == "live_videos":
        return LiveVideoEvent(page_id=raw.page_id, timestamp=raw.entry_time, raw=change,
                              video_id=_str(value, "id"), status=_str(value, "status").lower())
    if field_name == "marketing_message_echoes":
        return MarketingEchoEvent(page_id=raw.page_id, timestamp=_as_ms(value.get("timestamp")) or raw.entry_time,
                                  raw=change, tracking_id=_str(value, "marketing_message_tracking_id"),
                                  token=_str(value, "messenger_subscription_token"),
                                  mid=_opt_str(value.get("message_id")) or "")
    if field_name == "message_template_status_update":
        return _template_status(raw, value)
    if field_name != "feed":
        raise BadEvent("unknown_kind", f"change field {brief(field_name)}")
    item_kind, verb = _opt_str(value.get("item")) or "", _opt_str(value.get("verb")) or ""
    ts = _as_ms(value.get("created_time")) or raw.entry_time
    if item_kind != "comment":
        return FeedEvent(page_id=raw.page_id, timestamp=ts, raw=change, item=item_kind, verb=verb,
                         post_id=_opt_str(value.get("post_id")))
    sender = _obj(value.get("from"))
    from_id = _id_of(sender.get("id")) or _id_of(value.get("from_id"))
    if not from_id:
        raise BadEvent("missing_field", "feed comment from.id")
    return CommentEvent(page_id=raw.page_id, timestamp=ts, raw=change, verb=verb or "add",
                        comment_id=_str(value, "comment_id"), post_id=_str(value, "post_id"),
                        parent_id=_opt_str(value.get("parent_id")), from_id=from_id,
                        from_name=_opt_str(sender.get("name")) or _opt_str(value.get("from_name")),
                        message=_opt_str(value.get("message")))


INSTAGRAM_COMMENT_FIELDS = ("comments", "live_comments")


def _parse_instagram_change(raw: RawItem) -> Event:
    """A comment on an Instagram post, reel or live video (fields ``comments``, ``live_comments``; §9)."""
    change = raw.item
    field_name, value = _field_and_value(change)
    if field_name not in INSTAGRAM_COMMENT_FIELDS:
        raise BadEvent("unknown_kind", f"instagram change field {brief(field_name)}")
    sender = _obj(value.get("from"))
    from_id = _id_of(sender.get("id"))
    if not from_id:
        raise BadEvent("missing_field", "instagram comment from.id")
    media = _obj(value.get("media"))
    media_id = _id_of(media.get("id"))
    if not media_id:
        raise BadEvent("missing_field", "instagram comment media.id")
    return CommentEvent(page_id=raw.page_id, timestamp=_as_ms(value.get("timestamp")) or raw.entry_time, raw=change,
                        channel=INSTAGRAM, verb="add", comment_id=_str(value, "id"), post_id=media_id,
                        parent_id=_opt_str(value.get("parent_id")), from_id=shopper_key(INSTAGRAM, from_id),
                        from_name=_opt_str(sender.get("username")), message=_opt_str(value.get("text")),
                        live=field_name == "live_comments" or media.get("media_product_type") == "LIVE")


def _template_status(raw: RawItem, value: dict[str, Any]) -> TemplateStatusEvent:
    """A utility template's review (§3.3, §9; shape [U], see :class:`TemplateStatusEvent`): its id, name and a
    status Meta names; anything else is ``missing_field`` or ``unknown_kind``, never an event."""
    status = _str(value, "event").upper()
    if status not in TEMPLATE_STATUSES:
        raise BadEvent("unknown_kind", f"template status {brief(status)}")
    template_id = _id_of(value.get("message_template_id"))
    if not template_id:
        raise BadEvent("missing_field", "message_template_id")
    return TemplateStatusEvent(page_id=raw.page_id, timestamp=raw.entry_time, raw=raw.item, template_id=template_id,
                               name=_str(value, "message_template_name"),
                               language=_opt_str(value.get("message_template_language")) or "",
                               status=status, reason=_opt_str(value.get("reason")) or "")


def _as_ms(value: Any) -> int:
    """Epoch time in ms, or 0 (missing) for anything else; Meta sends ms in messaging and seconds in changes."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    ms = value * 1000 if value < 100_000_000_000 else value
    return int(ms) if 0 < ms < MAX_MS else 0


def _whole(value: Any) -> int | None:
    """A finite number in the range of a timestamp or an id as an int; anything else is missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if -MAX_MS < value < MAX_MS else None


def _id_of(value: Any) -> str | None:
    """An id as Meta sends it (a non-empty string, or a number), or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _id(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    found = _id_of(value.get("id")) if isinstance(value, dict) else None
    if found is None:
        raise BadEvent("missing_field", f"{key}.id")
    return found


def _dict(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    if not isinstance(value, dict):
        raise BadEvent("missing_field", key)
    return value


def _str(item: dict[str, Any], key: str) -> str:
    found = _id_of(item.get(key))
    if found is None:
        raise BadEvent("missing_field", key)
    return found


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _referral(value: Any) -> Referral | None:
    if not isinstance(value, dict):
        return None
    return Referral(ref=_opt_str(value.get("ref")), source=_opt_str(value.get("source")),
                    type=_opt_str(value.get("type")), ad_id=_opt_str(value.get("ad_id")))


def _attachment(value: dict[str, Any]) -> Attachment:
    payload = _obj(value.get("payload"))
    sticker = _whole(payload.get("sticker_id")) if isinstance(payload.get("sticker_id"), int) else None
    return Attachment(type=_opt_str(value.get("type")) or "unknown", url=_opt_str(payload.get("url")),
                      sticker_id=sticker, title=_opt_str(value.get("title")) or _opt_str(payload.get("title")))
