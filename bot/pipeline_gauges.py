"""What the event pipeline of one Page holds right now, for ``/healthz`` and ``/metrics``: each read is
one round trip over the Page's own keys (so it also proves the node serving the Page's slot answers)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from .keys import Keys


@dataclass(frozen=True, slots=True)
class Gauges:
    counters: dict[bytes | str, bytes | str]  # the Page's event counters (``Keys.counters``)
    inbox_backlog: int  # webhook bodies not yet split into shopper queues
    shoppers_ready: int
    shoppers_leased: int


class PipelineGauges:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def health(self) -> tuple[int, bool]:
        """(inbox backlog, whether a splitter holds its lease)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self._keys.inbox)
            pipe.exists(self._keys.splitter_lease)
            backlog, splitting = await pipe.execute()
        return int(backlog), bool(splitting)

    async def gauges(self) -> Gauges:
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.counters)
            pipe.xlen(k.inbox)
            pipe.zcard(k.ready)
            pipe.zcard(k.leases)
            counters, inbox, ready, leased = await pipe.execute()
        return Gauges(counters, int(inbox), int(ready), int(leased))
