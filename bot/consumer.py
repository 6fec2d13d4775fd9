"""Event consumers: lease a shopper's queue, handle its events in order, complete them.

Many consumers (coroutines in ``salebell serve`` and ``salebell worker``) run
against the same Redis. Each shopper's events are handled one at a time in
arrival order; different shoppers run concurrently, up to ``concurrency`` per
process. A handler that raises is retried; after ``max_attempts`` the event goes
to the dead-letter stream with the error, so one bad event never blocks a
shopper for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .backoff import Backoff, Outage
from .dead_letters import DeadLetters
from .errors import BadEvent
from .events import RawItem
from .handlers import HandlerRegistry
from .keys import Keys
from .logs import about, shopper_hash
from .parsing import parse_item
from .queues import Head, Lease, ShopperQueues
from .streams import sleep_or_stop
from .turn_commit import TurnCommit, deferring

log = logging.getLogger(__name__)

MAX_PER_CLAIM = 50  # events handled per lease before the shopper yields to others
IDLE_FIRST, IDLE_MOST = 0.01, 0.05  # seconds between claims while none are ready (woken sooner, see wake)
T = TypeVar("T")


class _GivenUp(Exception):
    """The process stops while Redis is down: leave the lease to expire."""


def consumer_name(role: str) -> str:
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EventConsumer:
    """Drains ready per-shopper queues through the handler registry."""

    def __init__(self, redis: Redis, keys: Keys, queues: ShopperQueues, registry: HandlerRegistry,
                 context: Mapping[str, Any], *, name: str, concurrency: int = 64, max_attempts: int = 3) -> None:
        self._redis = redis
        self._keys = keys
        self._dead_letters = DeadLetters(redis, keys)
        self._queues = queues
        self._registry = registry
        self._context = context
        self.name = name
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self._active: set[asyncio.Task[None]] = set()
        self._held: set[str] = set()  # the shoppers whose lease this consumer holds now (the heartbeat's)
        self._stop = asyncio.Event()  # run() replaces it with the runtime's
        self._woken = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and drain until ``stop`` is set; then finish what is in hand."""
        self._stop = stop
        async with self._keeping_leases():  # not until ``stop``: the leases in hand are kept while finished
            await self._claim_and_drain(stop)

    def wake(self) -> None:
        """Claim now: this process's splitter queued events, or a drain ended and made room."""
        self._woken.set()

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait ``seconds``, or until woken or stopped."""
        if not self._woken.is_set():
            waiter = asyncio.ensure_future(self._woken.wait())
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait((waiter, stopped), timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                stopped.cancel()
        self._woken.clear()

    async def _claim_and_drain(self, stop: asyncio.Event) -> None:
        """Claim ready shoppers while there is room; when none are ready, wait until woken (events this process
        split, a drain ended) or, for what other processes split and expired leases, a poll (10 ms, backing
        off to 50 ms): not a claim right after every claim, nor one every 2 ms after each event."""
        idle = IDLE_FIRST
        backoff, outage = Backoff(first=0.05, most=0.5), Outage(log, f"consumer {self.name}")
        while not stop.is_set():
            free = self.concurrency - len(self._active)
            claimed: list[Lease] = []
            if free > 0:
                try:
                    claimed, recovered = await self._queues.claim(self.name, free)
                    outage.recovered()
                    backoff.reset()
                    if recovered:
                        log.info("consumer %s: %d expired leases recovered", self.name, recovered)
                except (RedisError, OSError) as exc:
                    outage.failed(exc)
                    await backoff.wait(stop)
                    continue
            for lease in claimed:
                task = asyncio.create_task(self._drain(lease))
                self._active.add(task)
                task.add_done_callback(self._drained)
            if claimed and len(claimed) == free:  # maybe more ready than there was room for
                idle = IDLE_FIRST
                continue
            if claimed or free <= 0:
                idle = IDLE_FIRST
            await self._idle(stop, idle)
            idle = min(idle * 2, IDLE_MOST)
        if self._active:
            await asyncio.gather(*self._active, return_exceptions=True)

    def _drained(self, task: asyncio.Task[None]) -> None:
        full = len(self._active) >= self.concurrency
        self._active.discard(task)
        if full:  # room again: the claim loop waits for it only if it was full
            self.wake()

    async def run_once(self) -> int:
        """Claim what is ready now and drain it (tests, burst mode). Returns keys drained."""
        claimed, _ = await self._queues.claim(self.name, self.concurrency)
        async with self._keeping_leases():
            await asyncio.gather(*(self._drain(lease) for lease in claimed))
        return len(claimed)

    @contextlib.asynccontextmanager
    async def _keeping_leases(self) -> AsyncIterator[None]:
        """The consumer's heartbeat (:meth:`_heartbeat`) runs for as long as the block does."""
        finished = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(finished))
        try:
            yield
        finally:
            finished.set()
            heartbeat.cancel()

    async def _drain(self, lease: Lease) -> None:
        """Handle the shopper's events in order while holding its lease, from the head the claim read.

        A Redis error never strands the lease: the step that failed is tried again, with
        backoff, for as long as the lease is ours (the heartbeat keeps it), so the shopper's
        events go on as soon as Redis answers. A retried ``complete`` pops nothing twice
        (it names the item it completes). On shutdown during an outage the lease is left
        to expire and another process resumes from the unpopped head.
        """
        ordering_key = lease.ordering_key
        self._held.add(ordering_key)  # the consumer's heartbeat keeps it while it is in hand
        try:
            with about(shopper=shopper_hash(ordering_key)):
                await self._drain_leased(ordering_key, lease.head)
        finally:
            self._held.discard(ordering_key)

    async def _drain_leased(self, ordering_key: str, head: Head | None) -> None:
        try:
            for handled in range(MAX_PER_CLAIM):
                if head is None:
                    await self._retrying(lambda: self._queues.release(ordering_key, self.name), ordering_key)
                    return
                item = head
                counter, commit = await self._retrying(lambda: self._handle(item.payload), ordering_key)
                keep = handled + 1 < MAX_PER_CLAIM
                after = await self._retrying(lambda: self._queues.complete(
                    ordering_key, self.name, counter, item.item_id, keep=keep, commit=commit), ordering_key)
                if after.left == -1:
                    log.warning("consumer %s lost the lease on %s mid-way; another consumer resumes it",
                                self.name, ordering_key)
                    return
                if after.left == 0 or not keep:
                    return
                head = after.next  # read by the same step: no round trip for the next item
        except _GivenUp:
            return

    async def _retrying(self, step: Callable[[], Awaitable[T]], ordering_key: str) -> T:
        """Run ``step`` until Redis takes it; raise :class:`_GivenUp` on shutdown."""
        backoff, outage = Backoff(), Outage(log, f"consumer {self.name} on {ordering_key}")
        while True:
            try:
                result = await step()
            except (RedisError, OSError) as exc:
                outage.failed(exc)
                if not await backoff.wait(self._stop):
                    raise _GivenUp from exc
                continue
            outage.recovered()
            return result

    async def _handle(self, payload: bytes) -> tuple[str, TurnCommit | None]:
        """Parse and dispatch one event, retrying a failing handler; returns the counter to bump and what the
        handler left to the completing step (:mod:`bot.turn_commit`)."""
        try:
            event = parse_item(RawItem.from_json(payload))
        except (BadEvent, ValueError, KeyError) as exc:
            log.error("queued item cannot be parsed (%s); moved to dead letters", exc)
            await self._dead_letter(payload, "unparseable", str(exc))
            return "events_failed_total|unparseable", None
        with about(event=event.dedupe_key):
            return await self._dispatch(event, payload)

    async def _dispatch(self, event: Any, payload: bytes) -> tuple[str, TurnCommit | None]:
        for attempt in range(1, self.max_attempts + 1):
            try:
                with deferring(TurnCommit()) as commit:  # a failed try's deferred work is dropped with it
                    await self._registry.dispatch(event, self._context)
                return f"events_total|{event.kind}", commit
            except (RedisError, OSError):
                raise
            except Exception as exc:
                log.exception("handler failed for %s %s (attempt %d/%d)", event.kind,
                              event.dedupe_key, attempt, self.max_attempts)
                if attempt == self.max_attempts:
                    await self._dead_letter(payload, event.kind, f"{type(exc).__name__}: {exc}")
                    return f"events_failed_total|{event.kind}", None
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _dead_letter(self, payload: bytes, kind: str, error: str) -> None:
        await self._dead_letters.add(kind, error, payload)

    async def _heartbeat(self, finished: asyncio.Event) -> None:
        """Keep the leases of every shopper in hand, in one call every third of the lease, until ``finished``.

        One loop for the consumer, not a task per shopper: most shoppers are in hand for milliseconds.
        A lease found lost (it expired during an outage and another consumer took it) is no longer
        extended; its drain learns it when it completes (and leaves the rest to the new holder).
        """
        interval = self._queues.lease_ms / 3000
        while not finished.is_set():
            await sleep_or_stop(finished, interval)
            held = list(self._held)
            if finished.is_set() or not held:
                continue
            try:
                lost = await self._queues.extend(self.name, held)
            except (RedisError, OSError):
                continue  # tried again next time; a lease outlives two missed beats
            if lost:
                self._held.difference_update(lost)  # not ours to extend any more (nor to warn of again)
                log.warning("consumer %s: the lease on %d shoppers was lost; their new holders resume them",
                            self.name, len(lost))
