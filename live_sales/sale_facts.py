"""What live sales tell the dialogue, through the runtime's typed services (:mod:`bot.ports`).

- :data:`bot.ports.NEXT_LIVE_SALE`: the sale live now, else the first one scheduled from an
  hour ago on (a sale a little late to start is still "the next live");
- :data:`bot.ports.LINKED_POSTS`: the posts and live videos linked to a sale
  (``POST /api/live-sales/{id}/links``, ``salebell live create --post``, or the video a sale went live with).
"""

from __future__ import annotations

from typing import Any

from bot.batched_reads import Staged
from bot.clock import Clock
from bot.ports import UpcomingSale

from .model import LiveSale
from .store import SaleStore

LATE_START_MS = 3_600_000  # a scheduled sale this late to start is still the next one
NEXT_SALE_FRESH_MS = 1_000  # how long (deployment time) an answer to "the next live sale?" is reused


def _upcoming(found: tuple[bool, LiveSale] | None) -> UpcomingSale | None:
    if found is None:
        return None
    live, sale = found
    if live:
        return UpcomingSale(sale.title, sale.started_ms or sale.scheduled_ms, sale.url, live=True)
    return UpcomingSale(sale.title, sale.scheduled_ms, sale.url, live=False)


class SaleFacts:
    """Implements :class:`bot.ports.NextLiveSale` and :class:`bot.ports.LinkedPosts` for one Page."""

    def __init__(self, sales: SaleStore, clock: Clock) -> None:
        self._sales = sales
        self._clock = clock
        self._next: tuple[int, int, UpcomingSale | None] | None = None  # (read at ms, store version, answer)

    async def next_live_sale(self, now_ms: int | None = None) -> UpcomingSale | None:
        """Every dialogue turn asks, and the answer rarely changes: it is reused for ``NEXT_SALE_FRESH_MS``
        of deployment time, unless this process changed a sale since (the store's version) or the clock
        moved back or jumped (the sandbox's). A sale changed by another process shows here within that
        second."""
        now = now_ms if now_ms is not None else await self._clock.now_ms()
        cached = self._next
        if cached is not None and cached[1] == self._sales.version and 0 <= now - cached[0] < NEXT_SALE_FRESH_MS:
            return cached[2]
        version = self._sales.version
        answer = await self._read_next(now)
        self._next = (now, version, answer)
        return answer

    def stage_next_live_sale(self, pipe: Any) -> Staged[UpcomingSale | None] | None:
        """The same answer, exact, read with a turn's other first reads (no round trip, no reuse); None on
        Redis Cluster (then :meth:`next_live_sale`)."""
        staged = self._sales.stage_next_sale(pipe, LATE_START_MS)
        if staged is None:
            return None
        return Staged(staged.start, staged.count, lambda replies: _upcoming(staged.build(replies)))

    async def learn(self) -> None:
        await self._sales.learn_next_sale_now(LATE_START_MS)

    async def _read_next(self, now: int) -> UpcomingSale | None:
        return _upcoming(await self._sales.next_sale(now - LATE_START_MS))

    async def is_linked(self, post_id: str) -> bool:
        return await self._sales.is_linked(post_id)
