"""The opt-in follow-up scheduler: one nudge, some hours after a conversation ends without an opt-in.

Every shopper turn that ends unsubscribed (re)schedules the shopper's follow-up at
now + ``FOLLOWUP_HOURS`` on the deployment clock: a ZSET ``psid -> due ms``, so a
later message pushes it back and there is at most one per shopper. An opt-in or an
opt-out cancels it.

Firing is safe with any number of processes and survives restarts: one Lua script
moves due members into a claimed ZSET scored by a lease expiry (atomically, so two
processes never take the same one), the process fires and then deletes its claim. A
process that dies leaves its claim to expire; the next claim takes it again, and
the send job's id (``fu:<psid>:<due>``) keeps the outbox from queueing it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.clock import LUA_NOW
from bot.keys import Keys
from bot.scripts import register_script

from .keys import DialogueKeys

log = logging.getLogger(__name__)

Fire = Callable[[str, int], Awaitable[None]]
LEASE_MS = 60_000
BATCH = 100
POLL_SECONDS = 1.0

_CLAIM = LUA_NOW + """
local now = clock_now(KEYS[3])
local lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZADD', KEYS[2], now + lease, member)
  table.insert(out, member)
end
if #out < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit - #out)
  for i = 1, #due, 2 do
    local member = due[i] .. ':' .. string.format('%d', tonumber(due[i + 1]))
    redis.call('ZREM', KEYS[1], due[i])
    redis.call('ZADD', KEYS[2], now + lease, member)
    table.insert(out, member)
  end
end
return out
"""


class FollowUps:
    """Schedules, cancels and fires the per-shopper opt-in follow-up of one Page."""

    def __init__(self, redis: Redis, keys: Keys, fire: Fire, *, lease_ms: int = LEASE_MS) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)
        self._fire = fire
        self._lease_ms = lease_ms
        self._claim = register_script(redis, _CLAIM)

    async def schedule(self, psid: str, due_ms: int) -> None:
        await self._redis.zadd(self._keys.followups, {psid: due_ms})

    async def cancel(self, psid: str) -> None:
        await self._redis.zrem(self._keys.followups, psid)

    def stage_reschedule(self, pipe: Any, psid: str, due_ms: int | None) -> None:
        """In the caller's pipeline: the nudge due at ``due_ms``, or none (None cancels it)."""
        if due_ms is None:
            pipe.zrem(self._keys.followups, psid)
        else:
            pipe.zadd(self._keys.followups, {psid: due_ms})

    async def due_at(self, psid: str) -> int | None:
        score = await self._redis.zscore(self._keys.followups, psid)
        return None if score is None else int(score)

    async def run_once(self, limit: int = BATCH) -> int:
        """Claim what is due now and fire it; returns how many were claimed."""
        claimed = await self._claim(keys=[self._keys.followups, self._keys.followups_claimed,
                                          self._keys.clock_offset], args=[self._lease_ms, limit])
        for raw in claimed:
            member = raw.decode() if isinstance(raw, bytes) else str(raw)
            psid, _, due = member.rpartition(":")
            try:
                await self._fire(psid, int(due))
            except (RedisError, OSError):
                raise  # the claim expires and another pass fires it again
            except Exception:
                log.exception("follow-up for a shopper failed; dropped")
            await self._redis.zrem(self._keys.followups_claimed, member)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop: fire due follow-ups until ``stop`` is set."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except (RedisError, OSError) as exc:
                log.warning("follow-ups: Redis unavailable (%s); retrying", type(exc).__name__)
                claimed = 0
            if claimed < BATCH:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
                except asyncio.TimeoutError:
                    pass
