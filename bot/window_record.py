"""The 24-hour window's record (``Keys.window``): PSID -> epoch ms of the shopper's last message,
postback or referral.

Only the inbox splitter raises it (``bot/queues.lua``, in the step that queues the event; see
:mod:`bot.window`); everything else reads it here, and decides with :func:`bot.policy.in_window`.
"""

from __future__ import annotations

from redis.asyncio import Redis

from .keys import Keys


class WindowRecord:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.window

    async def last_action_ms(self, psid: str) -> int:
        """When the shopper last wrote (0: never, or not since the record was lost)."""
        return int(await self._redis.hget(self._key, psid) or 0)
