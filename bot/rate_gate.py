"""One worker's turn at the Page's send rate, replies before campaign jobs.

The Page's rate (``bot.buckets.SendLimits.acquire``, a GCRA slot shared by every worker) hands out
slots first come, first served, and lets a caller book one up to a second ahead. With a batch of
campaign jobs asking at once, they book the next second between them and a reply asking after
them waits behind it — at every link of a shopper's chain of replies (fault scenario 7 at 5,000
subscribers: a chatting shopper's replies 18-20 s late during a fan-out). Here a worker books one
slot at a time and gives it to the most urgent waiter: a reply never waits for more than the
slot being booked, whatever the campaign backlog. Without a Page rate (``PAGE_SEND_RATE=0``)
nothing waits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from .buckets import SendLimits

REPLY, CAMPAIGN = 0, 1  # priorities: lower goes first


class RateGate:
    """Hands this worker's Page-rate slots to waiters by priority, then in arrival order."""

    def __init__(self, limits: SendLimits) -> None:
        self._limits = limits
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    async def wait(self, priority: int) -> None:
        """Return when it is this caller's time to send; raises what the Page rate's Redis call raises."""
        if self._limits.interval_ms <= 0:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), turn))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._hand_out(), name="rate-gate")
        await turn

    async def _hand_out(self) -> None:
        while self._waiting:
            try:
                await self._limits.acquire()
            except Exception as exc:  # Redis down: every waiter learns it and retries its own way
                waiting, self._waiting = self._waiting, []
                for _, _, turn in waiting:
                    if not turn.done():
                        turn.set_exception(exc)
                return
            while self._waiting:
                _, _, turn = heapq.heappop(self._waiting)
                if not turn.done():  # a waiter that was cancelled meanwhile leaves its slot to the next
                    turn.set_result(None)
                    break

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
