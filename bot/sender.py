"""Send workers: read the outbox's two lanes, send each batch (``bot.send_batch``), keep the claims.

A worker holds up to two batches' worth of campaign jobs (``SEND_CONCURRENCY`` each) and half a
batch more that only replies may use, so a reply is read as soon as it is queued however large
the campaign backlog (a shopper's chain of replies, each waiting for the one before, would
otherwise wait for room at every link). It reads when half a batch of room is free: the
reply lane first, then the campaign lane if campaigns have room; while the Page is paused (``bot.throttle``)
it reads campaigns only once a second, to offer a probe. A job frees its room when its result is
written (``bot.send_results``), not when its batch ends. Beside the loop run the claims
heartbeat and the liveness key (``bot.send_claims``) and the delayed-job loop (``bot.send_retry``).

Crash safety (DESIGN.md invariant 6). A job's record says ``sending`` from just after its limits
were taken until its outcome is written; its stream entry is acknowledged in the same step as its
outcome (or its move to the delayed ZSET). A worker that dies leaves its entries pending; after
``reclaim_idle`` another worker claims them: a final record is acknowledged, a ``sending`` one goes
to :func:`bot.reclaim.resolve_reclaimed`. A live worker refreshes its claims (XCLAIM JUSTID), also
while Redis is down and its results wait in memory, so mostly only a dead worker's jobs are reclaimed;
a worker starved of CPU, or back from an outage later than its peers, can still lose entries it is
working on to a reclaim, and then the fenced ``sending`` mark (``bot/outbox_mark.lua``) lets only one
of the two batches call. A worker never takes back an entry it still holds (XAUTOCLAIM also returns
the caller's own idle entries: its claims went stale in an outage while a batch of its waited). When
Redis fails before a call, the job stays in this worker's hands and is tried again by it after a
backoff: nobody waits for a reclaim. A lost consumer group (an empty Redis) is created again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .buckets import SendLimits
from .cancels import CancelWatch
from .clock import Clock
from .consent import ConsentStore
from .graph import GraphClient
from .instagram_live import InstagramLive
from .keys import Keys
from .outbox import GROUP, Entry, Outbox
from .rate_gate import RateGate
from .reclaim import Reclaimer
from .region_lookup import RegionLookup
from .send_attempt import BatchContext, Held
from .send_batch import SendBatch
from .send_claims import WorkerClaims
from .send_facts import FactsLoader
from .send_jobs import CAMPAIGNS, REPLIES
from .send_refusals import Refusals
from .send_results import ResultWriter
from .send_retry import DelayedJobs, RetryBudget
from .settings import Settings
from .shopper_regions import ShopperRegions
from .streams import ensure_group, group_backlog, sleep_or_stop
from .throttle import PageThrottle

log = logging.getLogger(__name__)

__all__ = ["GROUP", "SendWorker"]

BATCHES_IN_HAND = 2
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 0.1, 0.5  # a job Redis failed before its call: back after this
CAMPAIGN_PROBE_SECONDS = 1.0  # while paused, a campaign job is read this often (a probe if no reply waits)
CAMPAIGNS_FULL_BLOCK_MS = 10  # how long a read of replies alone waits while campaign jobs fill their batch
RECLAIM_GRACE_SECONDS = 10.0  # after a Redis error, reclaims wait this long (at most a third of the idle time)


class SendWorker:
    """One process's send loop for one Page."""

    def __init__(self, *, redis: Redis, keys: Keys, settings: Settings, clock: Clock, outbox: Outbox,
                 consent: ConsentStore, limits: SendLimits, graph: GraphClient, name: str) -> None:
        self._redis = redis
        self._outbox = outbox
        self.name = name
        self.batch_size = max(1, settings.send_concurrency)
        self.campaign_capacity = BATCHES_IN_HAND * self.batch_size
        self.capacity = self.campaign_capacity + max(1, self.batch_size // 2)  # half a batch kept for replies
        self.reclaim_idle_ms = int(settings.reclaim_idle_seconds * 1000)
        self._reclaim_every = min(1.0, settings.reclaim_idle_seconds / 2)
        self._reclaim_grace = min(RECLAIM_GRACE_SECONDS, settings.reclaim_idle_seconds / 3)
        self._lanes = outbox.lanes
        self._streams = [lane.stream for lane in self._lanes.values()]
        self._in_hand: dict[bytes, str] = {}  # entry id -> lane, until its result is written
        self._retries: list[tuple[float, list[Held]]] = []  # (when, entries) Redis failed before their calls
        self._retry_wait = RETRY_FIRST_SECONDS
        self._room = asyncio.Event()
        self._next_reclaim = 0.0
        self._next_campaign_probe = 0.0
        self._last_redis_failure = 0.0
        self._claims = WorkerClaims(redis, keys, name, self._lanes, self._in_hand, self.reclaim_idle_ms,
                                    self._redis_failed)
        self.throttle = PageThrottle(redis, keys, settings, limits)
        self.delayed = DelayedJobs(redis, keys, self.throttle)
        self._results = ResultWriter(outbox, self.throttle.now_ms, self._written)
        self._ctx = BatchContext(
            name=name, keys=keys, settings=settings, outbox=outbox, consent=consent, limits=limits, graph=graph,
            facts=FactsLoader(redis, keys, settings, InstagramLive(redis, keys, graph, settings.instagram_account_id)),
            refusals=Refusals(redis, keys, settings, clock, consent, limits),
            reclaimer=Reclaimer(redis, keys, settings, graph),
            throttle=self.throttle, budget=RetryBudget(settings), results=self._results, uncalled=set(),
            retry_later=self._retry_later, leave=self._written,
            redis_calm_for=lambda: time.monotonic() - self._last_redis_failure, cancels=CancelWatch(redis, keys),
            alive=self._claims.is_alive, rate=RateGate(limits),
            regions=RegionLookup(ShopperRegions(redis, keys), graph))
        self._keys = keys

    async def ensure_group(self) -> None:
        for stream in self._streams:
            await ensure_group(self._redis, stream, GROUP)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; Redis outages are waited out."""
        batches: set[asyncio.Task[None]] = set()
        helpers = [asyncio.create_task(self._claims.keep_fresh(stop), name="send-claims"),
                   asyncio.create_task(self._claims.announce_alive(stop), name="send-alive"),
                   asyncio.create_task(self.delayed.run(stop), name="send-delayed")]
        grouped = False
        try:
            while not stop.is_set():
                held = self._due_retries()  # in hand already: they need no room
                if not held:
                    room = self.capacity - len(self._in_hand)
                    if room < max(1, self.batch_size // 2):
                        self._room.clear()
                        await _wait_for(self._room, 0.2)
                        continue
                    try:
                        if not grouped:
                            await self.ensure_group()
                            grouped = True
                        held = await self._next(room, block_ms=200)
                    except (RedisError, OSError) as exc:
                        log.warning("send worker %s: Redis unavailable (%s)", self.name, type(exc).__name__)
                        self._redis_failed()
                        await sleep_or_stop(stop, 0.5)
                        continue
                if held:
                    task = asyncio.create_task(SendBatch(self._ctx, held).run())
                    batches.add(task)
                    task.add_done_callback(batches.discard)
                elif self._retries:
                    await sleep_or_stop(stop, min(0.2, max(0.0, min(at for at, _ in self._retries) - time.monotonic())))
            if batches:
                await asyncio.gather(*batches, return_exceptions=True)
            await self._results.flush()
        finally:  # also when stopping takes too long and this is cancelled: what is unwritten stays pending
            for task in (*helpers, *batches):
                task.cancel()
            await asyncio.gather(*helpers, *batches, return_exceptions=True)
            await self.aclose()

    async def aclose(self) -> None:
        """End the worker's own tasks: the result writer and the rate gate's bookings (``run`` does it
        when it ends; after ``run_once`` the runtime does, before the send limits close)."""
        await self._results.aclose()
        await self._ctx.rate.aclose()

    async def run_once(self) -> int:
        """Process what is in the outbox now, to the end (tests, burst mode). Returns jobs processed."""
        await self.ensure_group()
        stop = asyncio.Event()  # what it holds is refreshed meanwhile, as in run(): nobody reclaims it
        fresh = [asyncio.create_task(self._claims.keep_fresh(stop), name="send-claims"),
                 asyncio.create_task(self._claims.announce_alive(stop), name="send-alive")]
        try:
            done = await self.delayed.move_due()
            while held := await self._next(self.batch_size, block_ms=None):
                await SendBatch(self._ctx, held).run()
                done += len(held)
            await self._results.flush()
        finally:
            stop.set()
            await asyncio.gather(*fresh, return_exceptions=True)
        return done

    async def pending(self) -> int:
        """Jobs not finished: in the streams, in the delayed ZSETs, or in hand for a retry."""
        backlog = sum([await group_backlog(self._redis, stream, GROUP) for stream in self._streams])
        return backlog + await self.delayed.waiting() + sum(len(h) for _, h in self._retries)

    # -- reading -----------------------------------------------------------------------
    async def _next(self, room: int, block_ms: int | None) -> list[Held]:
        """Jobs to send: those back from a Redis failure, reclaimed ones, replies, then campaign jobs."""
        held = self._due_retries()
        if held:
            return held
        count = min(room, self.batch_size)
        if time.monotonic() >= self._next_reclaim:
            self._next_reclaim = time.monotonic() + self._reclaim_every
            held = await self._reclaim(count)
            if held:
                log.info("send worker %s reclaimed %d jobs", self.name, len(held))
                return held
        lanes = [REPLIES, CAMPAIGNS]
        campaign_room = self.campaign_capacity - sum(1 for lane in self._in_hand.values() if lane == CAMPAIGNS)
        if campaign_room < max(1, self.batch_size // 2):
            lanes = [REPLIES]  # the other batch is the replies': they never wait for campaign jobs to go
            if block_ms is not None:
                block_ms = min(block_ms, CAMPAIGNS_FULL_BLOCK_MS)  # back soon: campaign room frees meanwhile
        else:
            count = min(count, campaign_room)  # (a read takes up to ``count`` from each lane)
        if self.throttle.paused:
            lanes = [REPLIES]
            if time.monotonic() >= self._next_campaign_probe:
                self._next_campaign_probe = time.monotonic() + CAMPAIGN_PROBE_SECONDS
                held = await self._read([REPLIES, CAMPAIGNS], 1, None)
                if held:
                    return held
        return await self._read(lanes, count, block_ms)

    async def _read(self, lanes: list[str], count: int, block_ms: int | None) -> list[Held]:
        streams: dict[Any, Any] = {self._lanes[lane].stream: ">" for lane in lanes}
        by_stream = await self._outbox.read_new(self.name, streams, count, block_ms)
        held: list[Held] = []
        for lane in lanes:  # the reply lane first
            held += self._hold(lane, by_stream.get(self._lanes[lane].stream, []))
        return held

    async def _reclaim(self, count: int) -> list[Held]:
        held: list[Held] = []
        for name, lane in self._lanes.items():
            claimed = await self._outbox.claim_idle(self.name, lane.stream, self.reclaim_idle_ms, count)
            held += self._hold(name, claimed)
        return held

    def _hold(self, lane: str, entries: list[tuple[bytes, dict[bytes, bytes] | None]]) -> list[Held]:
        held = []
        for entry_id, fields in entries:
            if fields is None:  # deleted while pending: nothing to send
                continue
            if entry_id in self._in_hand:  # reclaimed from itself (its claims went stale): already being sent
                continue
            self._in_hand[entry_id] = lane
            held.append((Entry(entry_id, lane), fields.get(b"j", b"")))
        return held

    # -- jobs in hand ------------------------------------------------------------------
    def _written(self, entry: Entry | None) -> None:
        if entry is not None and self._in_hand.pop(entry.id, None) is not None:
            self._room.set()

    def _redis_failed(self) -> None:
        """Once Redis is back, the live workers refresh their claims first (theirs retry every 0.5 s), and
        only then may an entry idle since before the outage be reclaimed: its worker may hold its outcome."""
        self._last_redis_failure = time.monotonic()
        self._next_reclaim = max(self._next_reclaim, time.monotonic() + self._reclaim_grace)

    def _retry_later(self, held: list[Held]) -> None:
        self._redis_failed()
        self._retries.append((time.monotonic() + self._retry_wait, held))
        self._retry_wait = min(self._retry_wait * 2, RETRY_MAX_SECONDS)

    def _due_retries(self) -> list[Held]:
        now = time.monotonic()
        due = [held for at, held in self._retries if at <= now]
        if not due:
            return []
        self._retries = [(at, held) for at, held in self._retries if at > now]
        if not self._retries:
            self._retry_wait = RETRY_FIRST_SECONDS
        return [h for held in due for h in held]


async def _wait_for(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
