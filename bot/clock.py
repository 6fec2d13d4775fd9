"""The one clock of a deployment: Redis TIME plus an offset kept in Redis.

Every process reads the same "now" (no skew between machines), and in sandbox
mode ``POST /sandbox/clock`` moves it forward for the bot and the sandbox alike,
so a test jumps a day instead of waiting. Lua scripts compute the same value
with :data:`LUA_NOW`.
"""

from __future__ import annotations

from redis.asyncio import Redis

from .keys import Keys

# Lua snippet: `now` in ms from TIME plus the offset stored at the key named by its argument.
LUA_NOW = """
local function clock_now(offset_key)
  local t = redis.call('TIME')
  local offset = tonumber(redis.call('GET', offset_key) or '0') or 0
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + offset
end
"""


class Clock:
    """Reads and (in the sandbox) advances deployment time, in epoch milliseconds."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def now_ms(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.time()
            pipe.get(self._keys.clock_offset)
            (seconds, micros), offset = await pipe.execute()
        return int(seconds) * 1000 + int(micros) // 1000 + int(offset or 0)

    async def offset_ms(self) -> int:
        return int(await self._redis.get(self._keys.clock_offset) or 0)

    async def advance(self, seconds: float) -> int:
        """Move now forward (never back); returns the new offset in ms."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return int(await self._redis.incrby(self._keys.clock_offset, int(seconds * 1000)))
