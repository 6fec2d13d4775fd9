"""A reminder before a scheduled sale ("Starting in 1 hour: …"), sent once by whichever process sees it due.

A sale created with ``reminder_minutes`` gets a second campaign, ``<sale>-r``, whose fan-out starts
when the deployment clock reaches ``scheduled - reminder_minutes`` (and the sale has not started):
the same snapshot, policy and limits as the go-live notification, so it counts against
``SENDS_PER_SHOPPER_PER_DAY`` like any notification (with the default 1, a shopper reminded today is
not notified again at the start the same day: set 2 for both). ``notify_at_start=false`` makes the
reminder the sale's only notification. Every process polls (:data:`POLL_SECONDS`); one script starts
the reminder's fan-out once (:data:`live_sales.scripts.REMIND`). When the sale starts while its
reminder is still going out, the rest of the reminder is cancelled.
"""

from __future__ import annotations

import asyncio
import logging

from bot.backoff import poll_until_stopped
from bot.clock import Clock

from .store import SaleStore

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
MINUTE_MS = 60_000


class ReminderScheduler:
    """Starts due reminders' fan-outs (the fan-out runner then sends them)."""

    def __init__(self, sales: SaleStore, clock: Clock) -> None:
        self._sales = sales
        self._clock = clock

    async def run_once(self) -> int:
        """Start every due reminder; how many this call started."""
        now = await self._clock.now_ms()
        started = 0
        for sale in await self._sales.find(status="scheduled"):
            due = sale.scheduled_ms - sale.reminder_minutes * MINUTE_MS
            if sale.reminder_minutes and not sale.reminded_ms and due <= now < sale.scheduled_ms:
                if await self._sales.remind(sale.id, now_ms=now) == "reminded":
                    log.info("live sale %s: reminder %d min before the start is going out", sale.id,
                             sale.reminder_minutes)
                    started += 1
        return started

    async def loop(self, stop: asyncio.Event) -> None:
        """Background task of a runtime, until ``stop``."""
        await poll_until_stopped(self.run_once, stop, every=POLL_SECONDS, what="live-sale reminders", log=log)
