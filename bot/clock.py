"""The one clock of a deployment: Redis TIME plus an offset kept in Redis.

Every process reads the same "now" (no skew between machines), and in sandbox
mode ``POST /sandbox/clock`` moves it forward for the bot and the sandbox alike,
so a test jumps a day instead of waiting. Lua scripts compute the same value
with :data:`LUA_NOW`.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from .batched_reads import Staged, stage_script
from .keys import Keys
from .scripts import register_script

# Lua snippet: `now` in ms from TIME plus the offset stored at the key named by its argument.
LUA_NOW = """
local function clock_now(offset_key)
  local t = redis.call('TIME')
  local offset = tonumber(redis.call('GET', offset_key) or '0') or 0
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + offset
end
"""


_NOW = LUA_NOW + "return clock_now(KEYS[1])"


class Clock:
    """Reads and (in the sandbox) advances deployment time, in epoch milliseconds.

    "Now" is read by a script keyed by the Page's offset key, so on Redis Cluster it is the TIME of
    the node that holds the Page (the same node every other script of the Page reads it from).
    """

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._now = register_script(redis, _NOW)

    async def now_ms(self) -> int:
        return int(await self._now(keys=[self._keys.clock_offset]))

    def stage_now(self, pipe: Any) -> Staged[int] | None:
        """"Now" read with the caller's other reads (:func:`bot.batched_reads.run_batch`, with
        :meth:`now_ms` to make the script known after a NOSCRIPT); None on Redis Cluster, where the
        caller asks :meth:`now_ms` (see :func:`bot.batched_reads.stage_script`)."""
        return stage_script(pipe, self._now, [self._keys.clock_offset], [], int)

    async def offset_ms(self) -> int:
        return int(await self._redis.get(self._keys.clock_offset) or 0)

    async def advance(self, seconds: float) -> int:
        """Move now forward (never back); returns the new offset in ms."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return int(await self._redis.incrby(self._keys.clock_offset, int(seconds * 1000)))
