"""The facts an action sees as slots (see :mod:`dialogue.kit`), read from Redis before it runs.

The live sale (live now, else the next scheduled) comes from whichever plugin provides
:data:`bot.ports.NEXT_LIVE_SALE` (live sales). Without one, no sale is scheduled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.batched_reads import Staged, run_batch
from bot.clock import Clock
from bot.consent import ConsentStore, ShopperConsent
from bot.keys import Keys
from bot.policy import WEEK_MS, in_window
from bot.ports import NEXT_LIVE_SALE, NextLiveSale, UpcomingSale
from bot.replies import text
from bot.services import Services
from bot.settings import Settings
from bot.shopper_regions import FIELDS as REGION_FIELDS
from bot.shopper_regions import region_from_fields

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class ShopperRows:
    """The shopper's own rows the facts are built from, as Redis gave them."""

    asked: dict[Any, Any]  # opt-in request title -> when it was asked
    window: Any  # the last message's time
    region: list[Any]  # the region fields (:data:`bot.shopper_regions.FIELDS`)
    next_live: tuple[UpcomingSale | None] | None = None  # read with them, where it could be; else None


class FactReader:
    """Builds the fact slots for one shopper."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, clock: Clock, consent: ConsentStore,
                 services: Services) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._clock = clock
        self._consent = consent
        self._services = services

    async def read(self, psid: str, channel: str, now_ms: int | None = None,
                   consent: ShopperConsent | None = None, rows: ShopperRows | None = None) -> dict[str, Any]:
        """The slots; ``now_ms``, ``consent`` and ``rows``: as the turn read them, else read here."""
        s = self._settings
        now = now_ms if now_ms is not None else await self._clock.now_ms()
        consent = consent or await self._consent.consent(psid, s.optin_topic)
        if rows is None:
            staged, replies = await run_batch(self._redis, lambda pipe: self.stage_rows(pipe, psid), self.learn)
            rows = staged.value(replies)
        asked_titles = {text(t): int(ms) for t, ms in rows.asked.items() if now - int(ms) < WEEK_MS}
        asked, last_action = asked_titles.get(s.optin_title, 0), int(rows.window or 0)
        sub = consent.subscription
        timezone = sub.timezone if sub else ""
        region = region_from_fields(rows.region).with_timezone(timezone)
        return {
            "channel": channel,
            "subscribed": bool(sub and sub.status == "active" and not consent.opted_out
                               and not consent.unreachable),
            "stopped": bool(sub and sub.status == "stopped"),
            "opted_out": consent.opted_out,
            "optin_title": s.optin_title,
            "optin_topic": s.optin_topic,
            "optin_image_url": s.optin_image_url,
            "optin_keyword": s.optin_keywords[0],
            "optin_asked_ms": asked,
            "optin_next_ms": asked + WEEK_MS if asked and now < asked + WEEK_MS else 0,
            "now_ms": now,
            "in_window": in_window(last_action, now),
            "otn_allowed": s.otn_enabled and not region.otn_closed(),
            "asked_titles": asked_titles,
            "followup_offer": "otn" if s.followup_offer.startswith("otn:") else "reminders",
            "followup_otn_topic": s.followup_offer.partition(":")[2],
            "followup_otn_title": s.followup_otn_title,
            "next_live": _as_fact(rows.next_live[0]) if rows.next_live is not None else await self._next_live(now),
            "timezone": timezone,
            "shop_url": s.shop_url,
            "fallback_text": s.fallback_text,
        }

    def stage_rows(self, pipe: Any, psid: str) -> Staged[ShopperRows]:
        """The shopper's rows, read in the caller's pipeline (:mod:`bot.batched_reads`), with the next live
        sale where its provider can stage it (then the turn asks it nothing more, and the answer is exact)."""
        start = len(pipe)
        pipe.hgetall(self._keys.optin_asked(psid))
        pipe.hget(self._keys.window, psid)
        pipe.hmget(self._keys.shopper_regions, [f"{psid}|{f}" for f in REGION_FIELDS])
        provider = self._services.find(NEXT_LIVE_SALE)
        sale = self._stage_next_live(provider, pipe) if provider is not None else None

        def build(replies: Sequence[Any]) -> ShopperRows:
            if provider is None:
                return ShopperRows(replies[0], replies[1], replies[2], next_live=(None,))
            found = None if sale is None else (self._built(Staged(sale.start - start, sale.count, sale.build),
                                                            replies),)
            return ShopperRows(replies[0], replies[1], replies[2], next_live=found)
        return Staged(start, len(pipe) - start, build)

    async def learn(self) -> None:
        """After a NOSCRIPT in a batch with :meth:`stage_rows`: the provider's staged script made known."""
        provider = self._services.find(NEXT_LIVE_SALE)
        if provider is not None:
            await provider.learn()

    @staticmethod
    def _stage_next_live(provider: NextLiveSale, pipe: Any) -> Staged[UpcomingSale | None] | None:
        try:
            return provider.stage_next_live_sale(pipe)
        except Exception:  # the live-sales layer failing must not silence the dialogue
            log.exception("%s: its provider failed to stage its read; asked on its own", NEXT_LIVE_SALE)
            return None

    @staticmethod
    def _built(sale: Staged[UpcomingSale | None], replies: Sequence[Any]) -> UpcomingSale | None:
        try:
            return sale.value(replies)
        except Exception:
            log.exception("%s: its provider's answer could not be read; answering without it", NEXT_LIVE_SALE)
            return None

    async def _next_live(self, now: int) -> dict[str, Any] | None:
        provider = self._services.find(NEXT_LIVE_SALE)
        if provider is None:
            return None
        try:
            sale = await provider.next_live_sale(now)
        except Exception:  # the live-sales layer failing must not silence the dialogue
            log.exception("%s: its provider failed; answering without it", NEXT_LIVE_SALE)
            return None
        return _as_fact(sale)


def _as_fact(sale: UpcomingSale | None) -> dict[str, Any] | None:
    if sale is None:
        return None
    return {"title": sale.title, "starts_at_ms": sale.starts_at_ms, "url": sale.url, "live": sale.live}
