"""The base of every typed event, and the queued form of a webhook item (messenger-platform.md §2).

A webhook body holds entries; each entry holds ``messaging``, ``changes`` or ``standby`` items.
:func:`bot.parsing.split_body` turns a body into :class:`RawItem` records (what gets queued per
shopper); :func:`bot.parsing.parse_item` turns one record into an :class:`Event`. Every event knows
its ``ordering_key`` (whose queue it joins) and its ``dedupe_key`` (what makes a redelivery the
same event), and has its ``channel`` (``messenger`` or ``instagram``, :mod:`bot.channels`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .channels import CHANNELS, MESSENGER
from .errors import BadEvent
from .json_input import clean, clean_text

PAGE_INBOX_APP_ID = "263902037430900"
SOURCES = ("messaging", "changes", "standby")


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item of a webhook body with the context needed to parse it later."""

    page_id: str
    source: str  # "messaging", "standby" or "changes"
    entry_time: int
    item: dict[str, Any]
    channel: str = MESSENGER  # "instagram" for an entry of an ``object: instagram`` body (page_id: its Page's)

    def to_json(self) -> str:
        """The queued form; strict JSON (a non-finite number raises ValueError: :func:`bot.json_input.clean` first)."""
        queued: dict[str, Any] = {"p": self.page_id, "s": self.source, "t": self.entry_time, "i": self.item}
        if self.channel != MESSENGER:
            queued["c"] = self.channel
        return json.dumps(queued, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> RawItem:
        """Read a queued item back; anything that is not one raises :class:`BadEvent` ``malformed_item``."""
        try:
            d = json.loads(data)
            page_id, source, entry_time, item = d["p"], d["s"], d["t"], d["i"]
            channel = d.get("c", MESSENGER)
            if not (isinstance(page_id, str) and source in SOURCES and isinstance(entry_time, int)
                    and not isinstance(entry_time, bool) and isinstance(item, dict) and channel in CHANNELS):
                raise ValueError("fields of the wrong type")
            return cls(page_id=clean_text(page_id), source=source, entry_time=entry_time, item=clean(item),
                       channel=channel)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise BadEvent("malformed_item", f"queued item is not a RawItem ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event. ``timestamp`` is epoch milliseconds."""

    kind: ClassVar[str] = "event"
    page_id: str
    timestamp: int
    raw: dict[str, Any] = field(repr=False, compare=False)
    channel: str = field(default=MESSENGER, kw_only=True)  # bot.channels: "messenger" or "instagram"

    @property
    def ordering_key(self) -> str:
        raise NotImplementedError

    @property
    def dedupe_key(self) -> str:
        return content_hash(self.raw)


def token_digest(token: str) -> str:
    """What a dedupe key holds of a token: never the token itself, since the key becomes job ids,
    Send API ``metadata`` (echoed back by Meta), Redis key names and log lines."""
    return hashlib.blake2b(token.encode(), digest_size=9).hexdigest()


def content_hash(raw: dict[str, Any]) -> str:
    """Dedupe key for events without a natural id: a hash of their canonical JSON."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
