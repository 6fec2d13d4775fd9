"""From webhook JSON to typed events (messenger-platform.md §1.3 and §2).

:func:`split_body` is strict about the envelope (``object`` must be ``page``)
and lenient inside it: a malformed entry or item becomes a :class:`Rejected`
record with a reason, never an exception that would lose the other items of
the same POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BadEvent
from .events import (
    Attachment, CommentEvent, DeliveryEvent, EchoEvent, Event, FeedEvent, HandoverEvent,
    LiveVideoEvent, MarketingOptinEvent, MessageEvent, MessagingEvent, OtnOptinEvent, PostbackEvent,
    RawItem, ReadEvent, Referral, ReferralEvent, StandbyEvent,
)

SOURCES = ("messaging", "changes", "standby")
HANDOVER_KEYS = ("pass_thread_control", "take_thread_control", "request_thread_control", "app_roles")


class NotPageEvent(ValueError):
    """The body is not JSON, or not a Messenger/Page event (``object`` is not ``page``)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item that could not be queued, with the reason it is counted under."""

    reason: str
    detail: str


def check_envelope(body: Any) -> list[Any]:
    """Return the entries of a page webhook body, or raise :class:`NotPageEvent`."""
    if not isinstance(body, dict):
        raise NotPageEvent("body is not a JSON object")
    if body.get("object") != "page":
        raise NotPageEvent(f"object is {body.get('object')!r}, expected 'page'")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise NotPageEvent("entry is missing or not a list")
    return entries


def split_body(body: Any) -> tuple[list[RawItem], list[Rejected]]:
    """Every item of every entry as a :class:`RawItem`; malformed parts as :class:`Rejected`."""
    items: list[RawItem] = []
    rejected: list[Rejected] = []
    for entry in check_envelope(body):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, int)):
            rejected.append(Rejected("malformed_entry", "entry without an id"))
            continue
        page_id = str(entry["id"])
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
                if isinstance(item, dict):
                    items.append(RawItem(page_id, source, entry_time, item))
                else:
                    rejected.append(Rejected("malformed_item", f"{source} item is not an object"))
        if not found:
            rejected.append(Rejected("unknown_entry", "entry has no messaging, changes or standby"))
    return items, rejected


def parse_item(raw: RawItem) -> Event:
    """Turn one queued item into a typed event; raise :class:`BadEvent` if it is unknown or incomplete."""
    if raw.source == "changes":
        return _parse_change(raw)
    event = _parse_messaging(raw.page_id, raw.item)
    if raw.source == "standby":
        return StandbyEvent(page_id=raw.page_id, timestamp=event.timestamp, raw=raw.item,
                            psid=event.psid, inner=event)
    return event


def _parse_messaging(page_id: str, item: dict[str, Any]) -> MessagingEvent:
    sender = _id(item, "sender")
    recipient = _id(item, "recipient")
    ts = _as_ms(item.get("timestamp"))
    if not ts:
        raise BadEvent("missing_field", "timestamp")
    common = dict(page_id=page_id, timestamp=ts, raw=item)
    if "message" in item:
        msg = _dict(item, "message")
        if msg.get("is_echo"):
            app_id = msg.get("app_id")
            return EchoEvent(**common, psid=recipient, mid=_str(msg, "mid"),
                             app_id=str(app_id) if app_id is not None else None,
                             text=msg.get("text"), metadata=msg.get("metadata"))
        quick = msg.get("quick_reply")
        return MessageEvent(
            **common, psid=sender, mid=_str(msg, "mid"), text=_opt_str(msg.get("text")),
            quick_reply_payload=_opt_str(quick.get("payload")) if isinstance(quick, dict) else None,
            attachments=tuple(_attachment(a) for a in msg.get("attachments") or () if isinstance(a, dict)),
            reply_to_mid=(msg.get("reply_to") or {}).get("mid") if isinstance(msg.get("reply_to"), dict) else None,
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
        mids = d.get("mids") or ()
        return DeliveryEvent(**common, psid=sender, watermark=_as_ms(d.get("watermark")),
                             mids=tuple(str(m) for m in mids if isinstance(m, str)))
    if "read" in item:
        return ReadEvent(**common, psid=sender, watermark=_as_ms(_dict(item, "read").get("watermark")))
    for key in HANDOVER_KEYS:
        if key in item:
            value = item[key] if isinstance(item[key], dict) else {}
            return HandoverEvent(**common, psid=sender, action=key, metadata=_opt_str(value.get("metadata")))
    raise BadEvent("unknown_kind", "messaging item with keys " + ",".join(sorted(item)[:8]))


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
            token_expiry=int(expiry) if isinstance(expiry, (int, float)) else None,
            user_token_status=_opt_str(optin.get("user_token_status")), status=status,
        )
    raise BadEvent("unknown_kind", f"optin of type {kind!r}")


def _parse_change(raw: RawItem) -> Event:
    change = raw.item
    field_name = change.get("field")
    value = change.get("value")
    if not isinstance(value, dict):
        raise BadEvent("missing_field", "changes[].value")
    if field_name == "live_videos":
        return LiveVideoEvent(page_id=raw.page_id, timestamp=raw.entry_time, raw=change,
                              video_id=_str(value, "id"), status=_str(value, "status").lower())
    if field_name != "feed":
        raise BadEvent("unknown_kind", f"change field {field_name!r}")
    item_kind, verb = str(value.get("item", "")), str(value.get("verb", ""))
    ts = _as_ms(value.get("created_time")) or raw.entry_time
    if item_kind != "comment":
        return FeedEvent(page_id=raw.page_id, timestamp=ts, raw=change, item=item_kind, verb=verb,
                         post_id=_opt_str(value.get("post_id")))
    sender = value.get("from") if isinstance(value.get("from"), dict) else {}
    from_id = sender.get("id") or value.get("from_id")
    if not from_id:
        raise BadEvent("missing_field", "feed comment from.id")
    return CommentEvent(page_id=raw.page_id, timestamp=ts, raw=change, verb=verb or "add",
                        comment_id=_str(value, "comment_id"), post_id=_str(value, "post_id"),
                        parent_id=_opt_str(value.get("parent_id")), from_id=str(from_id),
                        from_name=_opt_str(sender.get("name") or value.get("from_name")),
                        message=_opt_str(value.get("message")))


def _as_ms(value: Any) -> int:
    """Epoch time in ms; Meta sends ms in messaging and seconds in changes, so normalise by magnitude."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value * 1000) if value < 100_000_000_000 else int(value)


def _id(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, dict) or not isinstance(value.get("id"), (str, int)) or value.get("id") == "":
        raise BadEvent("missing_field", f"{key}.id")
    return str(value["id"])


def _dict(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    if not isinstance(value, dict):
        raise BadEvent("missing_field", key)
    return value


def _str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, (str, int)) or value == "":
        raise BadEvent("missing_field", key)
    return str(value)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _referral(value: Any) -> Referral | None:
    if not isinstance(value, dict):
        return None
    return Referral(ref=_opt_str(value.get("ref")), source=_opt_str(value.get("source")),
                    type=_opt_str(value.get("type")), ad_id=_opt_str(value.get("ad_id")))


def _attachment(value: dict[str, Any]) -> Attachment:
    payload = value.get("payload") if isinstance(value.get("payload"), dict) else {}
    sticker = payload.get("sticker_id")
    return Attachment(type=str(value.get("type", "unknown")), url=_opt_str(payload.get("url")),
                      sticker_id=sticker if isinstance(sticker, int) else None,
                      title=_opt_str(value.get("title") or payload.get("title")))
