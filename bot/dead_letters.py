"""Dead letters (``Keys.dead_letters``): what the bot could not handle, kept for a person to look at.

A webhook body the splitter cannot parse, or an event whose handler failed every attempt, is put
here with its kind and the error, so it never blocks the events around it and is never lost. The
stream is capped (``MAXLEN ~ 10,000``): the oldest go first.
"""

from __future__ import annotations

from redis.asyncio import Redis

from .keys import Keys

MAX_KEPT = 10_000


class DeadLetters:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.dead_letters

    async def add(self, kind: str, error: str, item: bytes | str, **fields: str) -> None:
        entry: dict[str, bytes | str] = {"kind": kind, "error": error[:500], "item": item, **fields}
        await self._redis.xadd(self._key, entry, maxlen=MAX_KEPT, approximate=True)  # type: ignore[arg-type]
