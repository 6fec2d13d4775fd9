"""The live sale and the blast, as stored in Redis and as the admin API shows them.

A live sale is an ordinary Page live video plus comments (Facebook Live Shopping
ended in 2022): a title, the URL shoppers join, when it is planned, the posts or
live videos it is linked to, the products it shows, and a status that only moves
forward: ``scheduled -> live -> ended``. Its id (``ls-<n>``) also names its
campaign in the outbox numbers; a blast's id (``bc-<n>``) does the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from bot.replies import text as text

Status = Literal["scheduled", "live", "ended"]
STATUSES: tuple[str, ...] = ("scheduled", "live", "ended")


def iso(ms: int) -> str | None:
    """Epoch ms as ISO 8601 UTC (``None`` for 0: not happened yet)."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(raw: dict[Any, Any], name: str) -> str:
    value = raw.get(name.encode(), raw.get(name, b""))
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class LiveSale:
    """One live sale."""

    id: str
    title: str
    url: str
    topic: str
    status: Status
    scheduled_ms: int
    post_ids: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    video_id: str = ""
    created_ms: int = 0
    started_ms: int = 0
    ended_ms: int = 0
    started_by: str = ""
    reminder_minutes: int = 0  # 0: none; else "Starting in …" this long before scheduled_ms
    notify_at_start: bool = True  # the go-live notification (off: the reminder alone)
    reminded_ms: int = 0

    @property
    def reminder_campaign(self) -> str:
        """The reminder's campaign id (its jobs are ``<campaign>.<psid>``, its numbers its own)."""
        return f"{self.id}-r"

    def to_redis(self) -> dict[str, str]:
        return {
            "id": self.id, "title": self.title, "url": self.url, "topic": self.topic, "status": self.status,
            "scheduled_ms": str(self.scheduled_ms), "post_ids": json.dumps(list(self.post_ids)),
            "products": json.dumps(list(self.products)), "video_id": self.video_id,
            "created_ms": str(self.created_ms), "started_ms": str(self.started_ms),
            "ended_ms": str(self.ended_ms), "started_by": self.started_by,
            "reminder_minutes": str(self.reminder_minutes), "notify_at_start": "1" if self.notify_at_start else "0",
            "reminded_ms": str(self.reminded_ms),
        }

    @classmethod
    def from_redis(cls, raw: dict[Any, Any]) -> LiveSale:
        def number(name: str) -> int:
            return int(_text(raw, name) or 0)

        return cls(
            id=_text(raw, "id"), title=_text(raw, "title"), url=_text(raw, "url"), topic=_text(raw, "topic"),
            status=_text(raw, "status"),  # type: ignore[arg-type]
            scheduled_ms=number("scheduled_ms"),
            post_ids=tuple(json.loads(_text(raw, "post_ids") or "[]")),
            products=tuple(json.loads(_text(raw, "products") or "[]")),
            video_id=_text(raw, "video_id"), created_ms=number("created_ms"), started_ms=number("started_ms"),
            ended_ms=number("ended_ms"), started_by=_text(raw, "started_by"),
            reminder_minutes=number("reminder_minutes"), notify_at_start=_text(raw, "notify_at_start") != "0",
            reminded_ms=number("reminded_ms"),
        )

    def to_json(self) -> dict[str, Any]:
        """The admin API's view (times as ISO 8601 and as epoch ms)."""
        return {
            "id": self.id, "title": self.title, "url": self.url, "topic": self.topic, "status": self.status,
            "scheduled_at": iso(self.scheduled_ms), "scheduled_ms": self.scheduled_ms,
            "post_ids": list(self.post_ids), "products": list(self.products), "video_id": self.video_id or None,
            "created_at": iso(self.created_ms), "started_at": iso(self.started_ms), "ended_at": iso(self.ended_ms),
            "started_by": self.started_by or None, "reminder_minutes": self.reminder_minutes,
            "notify_at_start": self.notify_at_start, "reminded_at": iso(self.reminded_ms),
        }


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A manual blast to a topic's subscribers: text, and optionally a button to a URL."""

    id: str
    topic: str
    text: str
    url: str = ""
    button_title: str = ""
    created_ms: int = 0

    def to_redis(self) -> dict[str, str]:
        return {"id": self.id, "topic": self.topic, "text": self.text, "url": self.url,
                "button_title": self.button_title, "created_ms": str(self.created_ms)}

    @classmethod
    def from_redis(cls, raw: dict[Any, Any]) -> Broadcast:
        return cls(id=_text(raw, "id"), topic=_text(raw, "topic"), text=_text(raw, "text"), url=_text(raw, "url"),
                   button_title=_text(raw, "button_title"), created_ms=int(_text(raw, "created_ms") or 0))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "text": self.text, "url": self.url or None,
                "button_title": self.button_title or None, "created_at": iso(self.created_ms)}
