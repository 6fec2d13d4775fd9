"""Each send job's result, written as soon as it is known, and kept until Redis has it.

A job's outcome (or its delay, or a bare acknowledgement) and its stream acknowledgement go to
Redis in one transaction right after its call returns, never held for the slower jobs of its
batch: the results handed in during one event-loop turn share that transaction, and while one
is on the wire the next ones gather for the following one. A Redis error keeps the results in
memory and the write is tried again with backoff until Redis answers (the worker keeps
refreshing its claim on the entries meanwhile); the write is safe to repeat
(``outbox_finish.lua``), so an answer lost with the connection costs nothing. A send that
reached Meta is never thrown away for a Redis error, so it is never sent twice for one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.exceptions import RedisError, ResponseError

from .outbox import Entry, Outbox
from .send_jobs import Result

log = logging.getLogger(__name__)

MAX_ITEMS_PER_WRITE = 256
FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0

Done = Callable[[Entry | None], None]
_Item = tuple[Entry | None, Result, "asyncio.Future[None]"]


class ResultWriter:
    """One writer per send worker; ``done(entry)`` is called once each result is in Redis (or given up)."""

    def __init__(self, outbox: Outbox, now_ms: Callable[[], int], done: Done) -> None:
        self._outbox = outbox
        self._now_ms = now_ms
        self._done = done
        self._queue: list[_Item] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def put(self, entry: Entry | None, result: Result) -> asyncio.Future[None]:
        """Hand in a result; the future is done once it is written."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, result, fut))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="send-results")
        return fut

    @property
    def unwritten(self) -> int:
        return len(self._queue)

    async def flush(self) -> None:
        """Until every result handed in so far is written."""
        if self._queue:
            await asyncio.gather(*(fut for _, _, fut in list(self._queue)))

    async def aclose(self) -> None:
        """Stop the writer (results still unwritten stay pending in their streams, for a reclaim)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # the results of this event-loop turn go together
            while self._queue:
                batch, self._queue = self._queue[:MAX_ITEMS_PER_WRITE], self._queue[MAX_ITEMS_PER_WRITE:]
                await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        backoff, failures = FIRST_BACKOFF_SECONDS, 0
        while True:
            try:
                await self._outbox.finish([(entry, result) for entry, result, _ in batch], self._now_ms())
                break
            except (RedisError, OSError) as exc:
                if not _passing(exc):
                    # a bug (a script error), not an outage: retrying would hold every later result
                    log.exception("send results: %d could not be written; left pending for a reclaim", len(batch))
                    break
                failures += 1
                if failures == 1:
                    log.warning("send results: Redis unavailable (%s); %d kept, retrying", type(exc).__name__,
                                len(batch))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        if failures:
            log.info("send results: %d written after %d failed tries", len(batch), failures)
        for entry, _, fut in batch:
            self._done(entry)
            if not fut.done():
                fut.set_result(None)


_PASSING_REPLIES = ("READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY")


def _passing(exc: BaseException) -> bool:
    """An outage or failover that passes (worth waiting out), not an error in what was sent."""
    return not isinstance(exc, ResponseError) or str(exc).startswith(_PASSING_REPLIES)
