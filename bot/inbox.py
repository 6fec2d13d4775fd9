"""The inbox: raw webhook bodies in a Redis stream, split in stream order into per-shopper queues.

``POST /webhook`` only appends the raw body (``bot.webhook.InboxWriter``) and answers. One
:class:`InboxSplitter` at a time per Page — the holder of the splitter lease, whichever
process that is — reads the stream after its cursor, parses each body into events and
commits them (:meth:`bot.queues.ShopperQueues.split`): in one atomic step, fenced by the
lease, the new events are queued under their shoppers, the entries deleted and the cursor
moved past them.

Why one splitter: each shopper's events must be queued in the order they arrived, across
any number of processes. Two splitters reading shares of the stream (a consumer group)
queue one shopper's events in whatever order their batches finish; one fenced reader
queues them in stream order, which is arrival order. Splitting costs a parse and one
script call per batch, thousands of bodies a second in one process; handling the events
(the expensive part) still runs in every process. Why a cursor and a lease instead of a
consumer group: a stale splitter (paused, partitioned) cannot commit once its lease is
gone, and the cursor moves only with a commit, so a body is split exactly once. Meta's own
retries are dropped by the queues' dedupe marks. If the lease holder dies, another process
takes the lease after ``LEASE_MS`` and continues from the cursor.

A body is parsed item by item and one bad item costs only itself: it is rejected with a
reason and counted (``salebell_events_rejected_total``). Parsing is deterministic, so a
body whose parsing fails outright is not retried: it is counted ``malformed_body`` and
kept in the dead letters for inspection. Redis trouble (an outage, an error reply) is
waited out with backoff; nothing is committed until Redis takes the whole step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .backoff import Backoff, Outage
from .dead_letters import DeadLetters
from .keys import Keys
from .parsing import events_of_body
from .queues import Queued, ShopperQueues, SplitCommit
from .replies import entries
from .window import window_opened

log = logging.getLogger(__name__)

BODY = b"b"
LEASE_MS = 2_000  # how long a dead splitter holds the inbox up
POLL_SECONDS = 0.25  # how often a process without the lease looks for it
BLOCK_MS = 200  # how long the lease holder waits for new entries per read
BATCH = 200  # entries read at once
EVENTS_PER_COMMIT = 500  # events per script call: a few ms of Redis at most


@dataclass
class _Split:
    """What a run of entries became, ready to commit."""

    entry_ids: list[str] = field(default_factory=list)
    events: list[Queued] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    broken: list[tuple[str, bytes, str]] = field(default_factory=list)  # (entry id, body, error)


class InboxSplitter:
    """Splits the Page's inbox stream into per-shopper queues while it holds the splitter lease."""

    def __init__(self, redis: Redis, keys: Keys, queues: ShopperQueues, owner: str, *,
                 lease_ms: int = LEASE_MS, batch: int = BATCH, instagram_account_id: str = "") -> None:
        self._redis = redis
        self._keys = keys
        self._dead_letters = DeadLetters(redis, keys)
        # the Page's Instagram account: its object-instagram entries are this Page's (bot.parsing.split_body)
        self._instagram = {instagram_account_id: keys.page_id} if instagram_account_id else {}
        self._queues = queues
        self.owner = owner
        self.lease_ms = lease_ms
        self.batch = batch
        self._foreign_warned: dict[str, float] = {}
        # (the cursor, when the lease was last taken or renewed, monotonic s) while this process holds it
        self._held: tuple[str, float] | None = None
        self.on_queued: Callable[[], None] | None = None  # told when a commit queued new events

    async def step(self, block_ms: int | None = None) -> int:
        """Split one batch if this process holds (or can take) the lease.

        The lease is asked for only when this process last took or renewed it (a hold or a commit, which
        renews it in the same step) more than a quarter of it ago: a busy splitter's step is its read and
        its commit. Holding it is never assumed for the commit itself, which is fenced by the lease and the
        cursor (a lost lease only costs a read).

        Returns the entries consumed, or -1 when another process holds the lease.
        """
        cursor = self._held_cursor()
        if cursor is None:
            asked = time.monotonic()
            cursor = await self._queues.hold_splitter(self.owner, self.lease_ms)
            if cursor is None:
                return -1
            self._held = (cursor, asked)
        found = entries(await self._redis.xread({self._keys.inbox: cursor}, count=self.batch, block=block_ms))
        if not found:
            return 0
        return await self._split(cursor, found)

    def _held_cursor(self) -> str | None:
        """The cursor, when this process renewed the lease recently enough not to ask for it again."""
        if self._held is None or time.monotonic() - self._held[1] > self.lease_ms / 4000:
            return None
        return self._held[0]

    async def run(self, stop: asyncio.Event) -> None:
        """Split until ``stop`` is set; a Redis outage is waited out (one log line), never fatal."""
        backoff, outage = Backoff(), Outage(log, f"inbox splitter {self.owner}")
        while not stop.is_set():
            try:
                consumed = await self.step(block_ms=BLOCK_MS)
                outage.recovered()
                backoff.reset()
                if consumed < 0:
                    await _sleep(stop, POLL_SECONDS)
            except (RedisError, OSError) as exc:
                self._held = None  # asked again once Redis answers (it may have restarted without the lease)
                outage.failed(exc)
                await backoff.wait(stop)
            except Exception:
                self._held = None
                log.exception("inbox splitter %s: unexpected error", self.owner)
                await backoff.wait(stop)
        try:
            await self._queues.release_splitter(self.owner)
        except (RedisError, OSError):
            pass  # the lease runs out by itself

    async def pending(self) -> int:
        """Entries stored and not split yet (split entries are deleted from the stream)."""
        return int(await self._redis.xlen(self._keys.inbox))

    async def _split(self, cursor: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
        """Parse the entries and commit them in runs of whole entries, oldest first."""
        run = _Split()
        consumed = 0
        for raw_id, fields in entries:
            self._parse(raw_id.decode(), fields.get(BODY, b""), run)
            if len(run.events) >= EVENTS_PER_COMMIT:
                if not await self._commit(cursor, run):
                    return consumed
                consumed += len(run.entry_ids)
                cursor, run = run.entry_ids[-1], _Split()
        if run.entry_ids and await self._commit(cursor, run):
            consumed += len(run.entry_ids)
        return consumed

    async def _commit(self, cursor: str, run: _Split) -> bool:
        """Commit a run; False if this process lost the lease (another splitter carries on)."""
        for entry_id, body, error in run.broken:
            await self._dead_letters.add("inbox_entry", error, body, entry=entry_id)
        commit = SplitCommit(self.owner, self.lease_ms, cursor, run.entry_ids[-1], run.entry_ids, run.events,
                             dict(run.rejected))
        renewed = time.monotonic()
        result = await self._queues.split(commit)
        if result < 0:
            self._held = None
            log.warning("inbox splitter %s: %s; another splitter carries on", self.owner,
                        "lease lost" if result == -1 else "cursor moved")
            return False
        self._held = (commit.new_cursor, renewed)
        if result > 0 and self.on_queued is not None:
            self.on_queued()
        return True

    def _parse(self, entry_id: str, body: bytes, run: _Split) -> None:
        """Add one entry's events (and rejected parts) to the run; never raises."""
        run.entry_ids.append(entry_id)
        try:
            parsed, rejected = events_of_body(body, self._instagram)
        except Exception as exc:  # parsing is total; a bug there must still cost only this entry
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("inbox entry %s could not be parsed (%s); kept in the dead letters", entry_id, error)
            run.rejected["malformed_body"] += 1
            run.broken.append((entry_id, body, error))
            return
        for r in rejected:
            log.warning("webhook part rejected: %s (%s)", r.reason, r.detail)
            run.rejected[r.reason] += 1
        for n, item in enumerate(parsed):  # n depends only on the body's bytes: stable if split again
            if item.raw.page_id != self._keys.page_id:
                self._warn_foreign(item.raw.page_id)
                run.rejected["foreign_page"] += 1
                continue
            run.events.append(Queued(item.ordering_key, item.dedupe_key, item.payload, f"{entry_id}.{n}",
                                     window_opened(item.event)))

    def _warn_foreign(self, page_id: str) -> None:
        if time.monotonic() >= self._foreign_warned.get(page_id, 0.0):  # once a minute per Page
            self._foreign_warned[page_id] = time.monotonic() + 60
            log.warning("events for Page %s ignored: this deployment does not serve it (FB_PAGE_ID, FB_PAGES)",
                        page_id)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
