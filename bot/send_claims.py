"""A send worker's hold on its jobs: its claims on the entries in hand kept fresh, its liveness key renewed.

A live worker refreshes its claims (XCLAIM JUSTID) every third of the reclaim idle time, also
while Redis is down and its results wait in memory, so mostly only a dead worker's jobs are
reclaimed (``bot.sender``). Its liveness key says the jobs it marked ``sending`` are in live
hands: the replies queued behind them wait for them rather than go round them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .keys import Keys
from .outbox import GROUP, Lane
from .send_attempt import ALIVE_TTL_SECONDS
from .streams import recreating_group, sleep_or_stop

log = logging.getLogger("bot.sender")  # the worker's: these lines were its own before the split

ALIVE_RENEW_SECONDS = 1.0  # how often a running worker renews its liveness key (it lives ALIVE_TTL_SECONDS)


class WorkerClaims:
    """One worker's claims and liveness key. ``in_hand`` is the worker's own map of the entries it
    holds (entry id -> lane), read here; ``redis_failed`` is told of each Redis error."""

    def __init__(self, redis: Redis, keys: Keys, name: str, lanes: dict[str, Lane], in_hand: dict[bytes, str],
                 reclaim_idle_ms: int, redis_failed: Callable[[], None]) -> None:
        self._redis = redis
        self._keys = keys
        self.name = name
        self._lanes = lanes
        self._in_hand = in_hand
        self.reclaim_idle_ms = reclaim_idle_ms
        self._redis_failed = redis_failed

    async def announce_alive(self, stop: asyncio.Event) -> None:
        """Renew this worker's liveness key every second while it runs: the jobs it marked sending are
        in live hands, and the replies queued behind them wait for them (``SendBatch._unfinished_before``)."""
        key = self._keys.send_worker_alive(self.name)
        while not stop.is_set():
            try:
                await self._redis.set(key, "1", px=int(ALIVE_TTL_SECONDS * 1000))
            except (RedisError, OSError):
                pass  # the loop's own reads log the outage
            await sleep_or_stop(stop, ALIVE_RENEW_SECONDS)
        try:
            await self._redis.delete(key)  # stopped: whatever it still marked is a dead worker's
        except (RedisError, OSError):
            pass

    async def is_alive(self, name: str) -> bool:
        return name == self.name or bool(await self._redis.exists(self._keys.send_worker_alive(name)))

    async def keep_fresh(self, stop: asyncio.Event) -> None:
        """Reset the idle time of jobs in hand, so only a dead worker's jobs are reclaimed."""
        wait = self.reclaim_idle_ms / 3000
        while not stop.is_set():
            await sleep_or_stop(stop, wait)
            wait = self.reclaim_idle_ms / 3000
            for name, lane in self._lanes.items():
                ids = [entry_id for entry_id, held_lane in list(self._in_hand.items()) if held_lane == name]
                if not ids:
                    continue
                try:
                    await recreating_group(
                        self._redis, lane.stream, GROUP, lambda stream=lane.stream, ids=ids: self._redis.xclaim(  # type: ignore[misc]
                            stream, GROUP, self.name, min_idle_time=0, message_ids=ids, justid=True))
                except (RedisError, OSError) as exc:
                    log.warning("send worker %s: could not refresh its claims (%s)", self.name, type(exc).__name__)
                    self._redis_failed()
                    wait = min(wait, 0.5)  # again as soon as Redis is back, before anyone may reclaim them
