"""What is said while a person has the conversation, kept for the agent (issue 14, "Handover").

While a human has the thread (the bot is paused, :mod:`dialogue.handover`, or another app owns
it and the shopper's messages come on ``standby``, messenger-platform.md §2.11), the bot does not
answer; what the shopper writes then is kept here instead of being dropped, with what the people
of the Page answered (an agent's reply from the admin API or the dashboard, a reply typed in the
Page Inbox) and the message that asked for a person. ``GET /api/conversations/{psid}`` and the
dashboard's Conversations panel show it.

Per shopper a Redis LIST of JSON entries ``{from, text, at_ms, kind?, job_id?, ...}`` (``from``:
``shopper``, ``agent``, ``page_inbox`` or ``bot``), the last :data:`KEEP` of them, kept
:data:`KEEP_SECONDS` (a person may answer up to 7 days after the shopper's last message, §3.3);
a ZSET of the shoppers by their latest entry lists the conversations. One MULTI per entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import Redis

from bot.keys import Keys
from bot.replies import text as as_text

from .keys import DialogueKeys

KEEP = 50  # entries per shopper
KEEP_SECONDS = 8 * 24 * 3600  # a day beyond the HUMAN_AGENT tag's 7 days
LISTED = 1000  # conversations in the agents' list
TEXT_MAX = 2000  # what is kept of one message (Meta's own text limit, §3.4)

Author = Literal["shopper", "agent", "page_inbox", "bot"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a conversation."""

    author: Author
    text: str
    at_ms: int
    extra: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"from": self.author, "text": self.text, "at_ms": self.at_ms, **self.extra}


class ConversationLog:
    """The kept conversations of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)

    async def add(self, psid: str, author: Author, text: str, at_ms: int, **extra: Any) -> None:
        """Keep one entry (the oldest beyond :data:`KEEP` go)."""
        entry = {"from": author, "text": text[:TEXT_MAX], "at_ms": int(at_ms),
                 **{k: v for k, v in extra.items() if v not in (None, "")}}
        key = self._keys.conversation(psid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
            pipe.ltrim(key, -KEEP, -1)
            pipe.expire(key, KEEP_SECONDS)
            pipe.zadd(self._keys.conversations, {psid: int(at_ms)})
            pipe.zremrangebyrank(self._keys.conversations, 0, -LISTED - 1)
            await pipe.execute()

    async def entries(self, psid: str) -> list[Entry]:
        """The shopper's kept entries, oldest first."""
        raws = cast(list[bytes], await self._redis.lrange(self._keys.conversation(psid), 0, -1))
        found = []
        for raw in raws:
            item = json.loads(raw)
            author, text, at_ms = item.pop("from"), item.pop("text"), item.pop("at_ms")
            found.append(Entry(author, text, int(at_ms), item))
        return found

    async def recent(self, limit: int) -> list[tuple[str, int]]:
        """``(psid, latest_ms)`` of the conversations with entries, latest first."""
        found = cast(list[tuple[bytes, float]], await self._redis.zrevrange(
            self._keys.conversations, 0, limit - 1, withscores=True))
        return [(as_text(p), int(ms)) for p, ms in found]
