"""One worker's turn at the Page's send rate, replies before campaign jobs.

The Page's rate (``bot.buckets.SendLimits.acquire``, a GCRA slot shared by every worker) hands out
slots first come, first served, and lets a caller book one up to a second ahead. With a batch of
campaign jobs asking at once, they book the next second between them and a reply asking after
them waits behind it — at every link of a shopper's chain of replies (fault scenario 7 at 5,000
subscribers: a chatting shopper's replies 18-20 s late during a fan-out). Here a worker books at
most ``BOOKED_AHEAD`` slots at a time and gives each, when it is due, to the most urgent waiter:
a reply waits for a few slots at most, whatever the campaign backlog. Without a Page rate (``PAGE_SEND_RATE=0``)
nothing waits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from .buckets import SendLimits

REPLY, CAMPAIGN = 0, 1  # priorities: lower goes first


BOOKED_AHEAD = 8  # slots a worker books at once: a reply waits for at most these, whatever the backlog


class RateGate:
    """Hands this worker's Page-rate slots to waiters by priority, then in arrival order."""

    def __init__(self, limits: SendLimits) -> None:
        self._limits = limits
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._booking: set[asyncio.Task[None]] = set()

    async def wait(self, priority: int) -> None:
        """Return when it is this caller's time to send; raises what the Page rate's Redis call raises."""
        if self._limits.interval_ms <= 0:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), turn))
        self._book()
        await turn

    def _book(self) -> None:
        """Keep up to ``BOOKED_AHEAD`` slots booked while anyone waits (never more than the waiters):
        booking one at a time would cap the rate at one Redis round trip plus a turn of a busy loop."""
        while len(self._booking) < min(BOOKED_AHEAD, len(self._waiting)):
            task = asyncio.create_task(self._one_slot(), name="rate-gate")
            self._booking.add(task)
            task.add_done_callback(self._booking.discard)

    async def _one_slot(self) -> None:
        try:
            await self._limits.acquire()
        except Exception as exc:  # Redis down: every waiter learns it and retries its own way
            waiting, self._waiting = self._waiting, []
            for _, _, turn in waiting:
                if not turn.done():
                    turn.set_exception(exc)
            return
        while self._waiting:  # the slot is due now: the most urgent waiter gets it
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():  # a waiter that was cancelled meanwhile leaves its slot to the next
                turn.set_result(None)
                break
        current = asyncio.current_task()  # done with its slot: it no longer counts as booking
        if current is not None:
            self._booking.discard(current)
        self._book()

    async def aclose(self) -> None:
        for task in list(self._booking):
            task.cancel()
        await asyncio.gather(*self._booking, return_exceptions=True)
