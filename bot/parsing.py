"""From webhook JSON to typed events (messenger-platform.md §1.3 and §2).

:func:`events_of_body` is what a splitter calls on a stored body: it never raises,
whatever the bytes. Every item either becomes a :class:`ParsedItem` (its typed event and
its :class:`RawItem`, ready to queue) or a :class:`Rejected` with one of
:data:`REJECT_REASONS`, so one malformed item costs only itself (issue 8, finding 2).
:func:`split_body` and :func:`parse_item` are its two steps: strict about the envelope
(``object`` must be ``page`` or ``instagram``), lenient inside it. Every field is type-checked: an optional
field of the wrong type is treated as absent, a required one as missing, and a number that
is not a finite, plausible value (``NaN``, ``1e400``) as missing (:mod:`bot.parse_fields`). A
``messaging[]`` or ``standby[]`` item is read by :mod:`bot.parse_messaging`, a ``changes[]`` item by
:mod:`bot.parse_changes`.

Instagram (issue 15, messenger-platform.md §1.3, §9): an ``object: instagram`` body's entries are
keyed by the Instagram professional account's id; :func:`split_body` gives each the id of the Page
that account is linked to (``instagram_accounts``) and the channel ``instagram``, or rejects it
``unknown_instagram_account``. Its ``messaging[]`` items have the Messenger shapes (text, quick
replies, attachments, postbacks, echoes with ``is_echo``; ``messaging_seen`` as ``read``, with a
``mid`` rather than a ``watermark`` [U]: the item's timestamp serves as the watermark; story
replies and story mentions as messages, :mod:`bot.parse_messaging`); its
``changes[]`` of field ``comments`` or ``live_comments`` carry ``{id, text, from: {id, username},
media: {id, media_product_type}, parent_id?}`` (Meta's Instagram webhooks reference; the
``live_comments`` value taken to be the same shape [U]). Every shopper id is their IGSID, keyed
``ig:<IGSID>`` (:mod:`bot.channels`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .channels import INSTAGRAM, WEBHOOK_OBJECTS
from .errors import BadEvent
from .events import SOURCES, Event, RawItem, StandbyEvent
from .json_input import MAX_DEPTH, NotJson, TooDeep, brief, clean, clean_text, load_json
from .parse_changes import parse_change, parse_instagram_change
from .parse_fields import as_ms, id_of
from .parse_messaging import parse_messaging

__all__ = ["REJECT_REASONS", "NotPageEvent", "ParsedItem", "Rejected", "check_envelope",
           "events_of_body", "parse_item", "split_body"]

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
        if not isinstance(entry, dict) or id_of(entry.get("id")) is None:
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
        entry_time = as_ms(entry.get("time"))
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
            return parse_instagram_change(raw) if raw.channel == INSTAGRAM else parse_change(raw)
        event = parse_messaging(raw.page_id, raw.item, raw.channel)
        if raw.source == "standby":
            return StandbyEvent(page_id=raw.page_id, timestamp=event.timestamp, raw=raw.item, channel=raw.channel,
                                psid=event.psid, inner=event)
        return event
    except BadEvent:
        raise
    except Exception as exc:  # a shape the checks did not foresee: it costs this item only
        raise BadEvent("malformed_item", f"{type(exc).__name__} while parsing a {raw.source} item") from exc
