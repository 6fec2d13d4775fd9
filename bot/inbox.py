"""The inbox: raw webhook bodies in a Redis stream, split into per-shopper queues.

``POST /webhook`` only appends the raw body (``bot.webhook.InboxWriter``) and answers; the
:class:`InboxSplitter` consumers read the stream through a consumer group,
parse each body into events and queue the new ones per shopper. A splitter that
dies before acknowledging leaves its entries pending; another splitter claims
them after ``reclaim_idle_ms`` and splits them again, and the dedupe marks make
that second split queue nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .errors import BadEvent
from .keys import Keys
from .parsing import NotPageEvent, parse_item, split_body
from .queues import Queued, ShopperQueues
from .streams import ensure_group, group_backlog, sleep_or_stop

log = logging.getLogger(__name__)

GROUP = "splitters"
BODY = b"b"


class InboxSplitter:
    """Consumes the inbox stream and queues each new event under its ordering key."""

    def __init__(self, redis: Redis, keys: Keys, queues: ShopperQueues, consumer: str, *,
                 reclaim_idle_ms: int = 30_000, batch: int = 100) -> None:
        self._redis = redis
        self._keys = keys
        self._queues = queues
        self.consumer = consumer
        self.reclaim_idle_ms = reclaim_idle_ms
        self.batch = batch
        self._foreign_warned: dict[str, float] = {}

    async def ensure_group(self) -> None:
        await ensure_group(self._redis, self._keys.inbox, GROUP)

    async def step(self, block_ms: int | None = 0) -> int:
        """Split one batch: reclaimed entries first, then new ones. Returns entries processed."""
        entries = await self._reclaim()
        if not entries:
            reply = await self._redis.xreadgroup(GROUP, self.consumer, {self._keys.inbox: ">"},
                                                 count=self.batch, block=block_ms)
            entries = reply[0][1] if reply else []
        if entries:
            await self._split(entries)
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        """Split until ``stop`` is set; a Redis outage is logged and waited out, never fatal."""
        await self._retrying(self.ensure_group, stop)
        while not stop.is_set():
            try:
                await self.step(block_ms=200)
            except (RedisError, OSError) as exc:
                log.warning("inbox splitter %s: Redis unavailable (%s); retrying", self.consumer, type(exc).__name__)
                await sleep_or_stop(stop, 0.5)
            except Exception:
                log.exception("inbox splitter %s: unexpected error", self.consumer)
                await sleep_or_stop(stop, 0.5)

    async def pending(self) -> int:
        """Entries delivered to a splitter and not acknowledged yet, plus entries not delivered yet."""
        return await group_backlog(self._redis, self._keys.inbox, GROUP)

    async def _reclaim(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        _, claimed, *_ = await self._redis.xautoclaim(
            self._keys.inbox, GROUP, self.consumer, min_idle_time=self.reclaim_idle_ms, count=self.batch
        )
        if claimed:
            log.info("inbox splitter %s reclaimed %d entries", self.consumer, len(claimed))
        return [(eid, fields) for eid, fields in claimed if fields is not None]

    async def _split(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Queue the events of a batch of entries in one script call, then acknowledge them together.

        Dying in between leaves the entries pending: they are reclaimed and split again, and the
        queues' dedupe marks keep their events from being queued twice.
        """
        queued: list[Queued] = []
        rejected: Counter[str] = Counter()
        for _, fields in entries:
            events, reasons = self._events_of(fields.get(BODY, b""))
            queued += events
            rejected.update(reasons)
        await self._queues.enqueue(queued)
        ids = [entry_id for entry_id, _ in entries]
        async with self._redis.pipeline(transaction=True) as pipe:
            for reason, count in rejected.items():
                pipe.hincrby(self._keys.counters, f"events_rejected_total|{reason}", count)
            pipe.xack(self._keys.inbox, GROUP, *ids)
            pipe.xdel(self._keys.inbox, *ids)
            await pipe.execute()

    def _events_of(self, body: bytes) -> tuple[list[Queued], list[str]]:
        try:
            items, rejected = split_body(json.loads(body))
        except (ValueError, NotPageEvent) as exc:  # verified before storing, so this is a bug upstream
            log.error("inbox entry is not a page event (%s); dropped", exc)
            return [], ["malformed_body"]
        reasons = [r.reason for r in rejected]
        for r in rejected:
            log.warning("webhook part rejected: %s (%s)", r.reason, r.detail)
        queued: list[Queued] = []
        for raw in items:
            if raw.page_id != self._keys.page_id:
                if time.monotonic() >= self._foreign_warned.get(raw.page_id, 0.0):  # once a minute per Page
                    self._foreign_warned[raw.page_id] = time.monotonic() + 60
                    log.warning("events for Page %s ignored: this deployment serves Page %s",
                                raw.page_id, self._keys.page_id)
                reasons.append("foreign_page")
                continue
            try:
                event = parse_item(raw)
            except BadEvent as exc:
                log.warning("webhook item rejected: %s", exc)
                reasons.append(exc.reason)
                continue
            queued.append(Queued(event.ordering_key, event.dedupe_key, raw.to_json()))
        return queued, reasons

    async def _retrying(self, op, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
        while not stop.is_set():
            try:
                await op()
                return
            except (RedisError, OSError) as exc:
                log.warning("inbox splitter: Redis unavailable (%s); retrying", type(exc).__name__)
                await sleep_or_stop(stop, 0.5)
