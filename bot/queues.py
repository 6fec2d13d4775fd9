"""Per-shopper queues: each shopper's events in order, one at a time, across processes.

The splitter pushes every new event to the list of its ordering key (a shopper,
a commenter, a live video) and marks the key ready. A consumer *claims* a ready
key (a lease in Redis with an expiry it keeps extending), handles the head
event, and *completes* it: the head is popped and counted in the same atomic
step. If the consumer dies, its lease expires, the key becomes ready again and
the head, never popped, is handled by another consumer. So an event is never
lost, and it is counted as handled exactly once.

All five operations live in one Lua file (``queues.lua``) and run atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from .keys import SEEN_TTL, Keys

_SCRIPT = Path(__file__).with_name("queues.lua").read_text()


@dataclass(frozen=True, slots=True)
class Queued:
    """An event ready to be queued: its ordering key, dedupe key and serialised item."""

    ordering_key: str
    dedupe_key: str
    payload: str


class ShopperQueues:
    """The Redis side of per-shopper ordering."""

    def __init__(self, redis: Redis, keys: Keys, *, lease_ms: int = 30_000) -> None:
        self._redis = redis
        self._keys = keys
        self.lease_ms = lease_ms
        self._script = redis.register_script(_SCRIPT)

    async def enqueue(self, events: Sequence[Queued]) -> int:
        """Queue events not seen before (by dedupe key); returns how many were new."""
        if not events:
            return 0
        keys = [self._keys.ready]
        args: list[str | int] = ["enqueue", SEEN_TTL]
        for e in events:
            keys += [self._keys.seen(e.dedupe_key), self._keys.queue(e.ordering_key)]
            args += [e.ordering_key, e.payload]
        return int(await self._script(keys=keys, args=args))

    async def claim(self, owner: str, limit: int) -> tuple[list[str], int]:
        """Lease up to ``limit`` ready keys; returns them and how many expired leases were recovered."""
        keys = [self._keys.ready, self._keys.leases, self._keys.lease_owners]
        claimed, recovered = await self._script(keys=keys, args=["claim", owner, self.lease_ms, limit])
        return [k.decode() if isinstance(k, bytes) else k for k in claimed], int(recovered)

    async def head(self, ordering_key: str) -> bytes | None:
        return await self._redis.lindex(self._keys.queue(ordering_key), 0)

    async def complete(self, ordering_key: str, owner: str, counter_field: str, *, keep: bool) -> int:
        """Pop and count the handled head; -1 if the lease was lost, else how many are left."""
        keys = [self._keys.queue(ordering_key), self._keys.ready, self._keys.leases,
                self._keys.lease_owners, self._keys.counters]
        args = ["complete", ordering_key, owner, self.lease_ms, counter_field, "1" if keep else "0"]
        return int(await self._script(keys=keys, args=args))

    async def extend(self, ordering_key: str, owner: str) -> bool:
        keys = [self._keys.leases, self._keys.lease_owners]
        return bool(await self._script(keys=keys, args=["extend", ordering_key, owner, self.lease_ms]))

    async def release(self, ordering_key: str, owner: str) -> bool:
        keys = [self._keys.queue(ordering_key), self._keys.ready, self._keys.leases, self._keys.lease_owners]
        return bool(await self._script(keys=keys, args=["release", ordering_key, owner]))

    async def backlog(self) -> dict[str, int]:
        """Sizes for /healthz and tests: ready keys and leased keys."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._keys.ready)
            pipe.zcard(self._keys.leases)
            ready, leased = await pipe.execute()
        return {"ready": int(ready), "leased": int(leased)}
