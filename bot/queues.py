"""Per-shopper queues: each shopper's events in order, one at a time, across processes.

The splitter pushes every new event to the list of its ordering key (a shopper,
a commenter, a live video) and marks the key ready; an event that opens the shopper's 24-hour
window raises it in the same step (:mod:`bot.window`). A consumer *claims* a ready
key (a lease in Redis with an expiry it keeps extending), handles the head
event, and *completes* it: the head is popped and counted in the same atomic
step. If the consumer dies, its lease expires, the key becomes ready again and
the head, never popped, is handled by another consumer. So an event is never
lost, and it is counted as handled exactly once.

Every operation lives in one Lua file (``queues.lua``) and runs atomically, the inbox
splitter's fenced commit (:meth:`ShopperQueues.split`) included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from .keys import SEEN_TTL, Keys
from .outbox import ENQUEUE_JOBS
from .scripts import register_script
from .turn_commit import TurnCommit

# complete runs a handler's commit, which queues send jobs: the outbox's enqueue_jobs comes first
_SCRIPT = ENQUEUE_JOBS + Path(__file__).with_name("queues.lua").read_text()


@dataclass(frozen=True, slots=True)
class Queued:
    """An event ready to be queued: its ordering key, dedupe key, serialised item and unique item id.

    ``item_id`` (the inbox entry id and the item's place in its body) has no spaces; it is stored
    in front of the payload so a consumer completes exactly the item it handled.
    """

    ordering_key: str
    dedupe_key: str
    payload: str
    item_id: str
    window: tuple[str, int] | None = None  # the shopper and ms of the window it opens (bot/window.py)

    @property
    def stored(self) -> str:
        return f"{self.item_id} {self.payload}"


@dataclass(frozen=True, slots=True)
class Head:
    """The oldest queued item of a shopper: its id and its serialised event."""

    item_id: str
    payload: bytes

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        item_id, _, payload = raw.partition(b" ")
        return cls(item_id.decode(), payload)

    @classmethod
    def from_reply(cls, raw: object) -> Head | None:
        """The head as a Redis reply gives it (bytes, else str), or None for an empty queue."""
        if raw is None:
            return None
        return cls.parse(raw if isinstance(raw, bytes) else str(raw).encode())


@dataclass(frozen=True, slots=True)
class Lease:
    """A shopper's queue this consumer now holds, and its head when it was leased (None: empty)."""

    ordering_key: str
    head: Head | None


@dataclass(frozen=True, slots=True)
class Completed:
    """What a shopper's queue holds after its head was handled: -1 left if the lease was lost."""

    left: int
    next: Head | None  # the new head, when the lease was kept for it


@dataclass(frozen=True, slots=True)
class SplitCommit:
    """One fenced step of the inbox splitter: the entries it consumed and what they became."""

    owner: str
    lease_ms: int
    cursor_read: str
    new_cursor: str
    entry_ids: Sequence[str]
    events: Sequence[Queued]
    rejected: Mapping[str, int]


class ShopperQueues:
    """The Redis side of per-shopper ordering."""

    def __init__(self, redis: Redis, keys: Keys, *, lease_ms: int = 30_000) -> None:
        self._redis = redis
        self._keys = keys
        self.lease_ms = lease_ms
        self._script = register_script(redis, _SCRIPT)

    async def enqueue(self, events: Sequence[Queued]) -> int:
        """Queue events not seen before (by dedupe key); returns how many were new."""
        if not events:
            return 0
        keys = [self._keys.ready, self._keys.window, self._keys.unreachable]
        args: list[str | int] = ["enqueue", SEEN_TTL]
        for e in events:
            keys += [self._keys.seen(e.dedupe_key), self._keys.queue(e.ordering_key)]
            args += _event_args(e)
        return int(await self._script(keys=keys, args=args))

    async def split(self, commit: SplitCommit) -> int:
        """Queue a batch of inbox entries' events, delete the entries and move the cursor past them,
        atomically and only while ``commit.owner`` holds the splitter lease.

        Returns the number of new events, -1 if the lease is lost, -2 if the cursor moved.
        """
        k = self._keys
        keys = [k.ready, k.splitter_lease, k.inbox_cursor, k.inbox, k.counters, k.window, k.unreachable]
        args: list[str | int] = ["split", commit.owner, commit.lease_ms, commit.cursor_read, commit.new_cursor,
                                 SEEN_TTL, len(commit.entry_ids), *commit.entry_ids, len(commit.rejected)]
        for reason, count in commit.rejected.items():
            args += [f"events_rejected_total|{reason}", count]
        for e in commit.events:
            keys += [k.seen(e.dedupe_key), k.queue(e.ordering_key)]
            args += _event_args(e)
        return int(await self._script(keys=keys, args=args))

    async def hold_splitter(self, owner: str, lease_ms: int) -> str | None:
        """Take the Page's splitter lease if it is free, or renew it if ``owner`` holds it; then the id of the
        last inbox entry split ("0-0" before the first), read in the same step. None: another holds it."""
        keys = [self._keys.splitter_lease, self._keys.inbox_cursor]
        held = await self._script(keys=keys, args=["hold", owner, lease_ms])
        if held == 0:
            return None
        return held.decode() if isinstance(held, bytes) else str(held)

    async def release_splitter(self, owner: str) -> None:
        """Give the splitter lease up at once (a clean stop), so another process need not wait it out."""
        await self._script(keys=[self._keys.splitter_lease], args=["hold", owner, 0])

    async def claim(self, owner: str, limit: int) -> tuple[list[Lease], int]:
        """Lease up to ``limit`` ready keys; returns them, each with its head read in the same step, and how
        many expired leases were recovered."""
        keys = [self._keys.ready, self._keys.leases, self._keys.lease_owners]
        claimed, recovered, heads = await self._script(
            keys=keys, args=["claim", owner, self.lease_ms, limit, self._keys.queue("")])
        return [Lease(k.decode() if isinstance(k, bytes) else k, Head.from_reply(h))
                for k, h in zip(claimed, heads, strict=True)], int(recovered)

    async def complete(self, ordering_key: str, owner: str, counter_field: str, item_id: str, *,
                       keep: bool, commit: TurnCommit | None = None) -> Completed:
        """Run the handler's ``commit`` (:mod:`bot.turn_commit`), pop and count the handled head, in one step and
        only if the head is still ``item_id`` (safe to retry: a try whose answer was lost did it all).
        ``left`` is -1 if the lease was lost (then nothing is done), else how many are left; ``next`` is the
        new head when the lease is kept (``keep`` and more queued), read in the same step."""
        keys = [self._keys.queue(ordering_key), self._keys.ready, self._keys.leases,
                self._keys.lease_owners, self._keys.counters]
        args: list[str | int | float] = ["complete", ordering_key, owner, self.lease_ms, counter_field,
                                         "1" if keep else "0", item_id]
        if commit is not None:
            more_keys, more_args = commit.script_input()
            keys += more_keys
            args += more_args
        reply = await self._script(keys=keys, args=args)
        return Completed(int(reply[0]), Head.from_reply(reply[1]) if len(reply) > 1 else None)

    async def extend(self, owner: str, ordering_keys: Sequence[str]) -> list[str]:
        """Extend ``owner``'s leases on these keys, in one step; returns the keys whose lease is no longer
        ``owner``'s (those are not extended)."""
        if not ordering_keys:
            return []
        keys = [self._keys.leases, self._keys.lease_owners]
        lost = await self._script(keys=keys, args=["extend", owner, self.lease_ms, *ordering_keys])
        return [k.decode() if isinstance(k, bytes) else k for k in lost]

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


def _event_args(e: Queued) -> list[str | int]:
    """An event's four arguments to ``enqueue_from`` (``queues.lua``)."""
    shopper, opened = e.window or ("", 0)
    return [e.ordering_key, e.stored, shopper, opened]
