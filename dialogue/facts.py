"""The facts an action sees as slots (see :mod:`dialogue.kit`), read from Redis before it runs.

The live sale (live now, else the next scheduled) comes from whichever plugin provides
:data:`bot.ports.NEXT_LIVE_SALE` (live sales). Without one, no sale is scheduled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.batched_reads import Staged, stage
from bot.clock import Clock
from bot.consent import ConsentStore, ShopperConsent
from bot.keys import Keys
from bot.policy import WEEK_MS, in_window
from bot.ports import NEXT_LIVE_SALE
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
            async with self._redis.pipeline(transaction=False) as pipe:
                staged = self.stage_rows(pipe, psid)
                rows = staged.value(await pipe.execute())
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
            "next_live": await self._next_live(now),
            "timezone": timezone,
            "shop_url": s.shop_url,
            "fallback_text": s.fallback_text,
        }

    def stage_rows(self, pipe: Any, psid: str) -> Staged[ShopperRows]:
        """The shopper's rows, read in the caller's pipeline (:mod:`bot.batched_reads`)."""
        def queue() -> None:
            pipe.hgetall(self._keys.optin_asked(psid))
            pipe.hget(self._keys.window, psid)
            pipe.hmget(self._keys.shopper_regions, [f"{psid}|{f}" for f in REGION_FIELDS])
        return stage(pipe, queue, lambda replies: ShopperRows(*replies))

    async def _next_live(self, now: int) -> dict[str, Any] | None:
        provider = self._services.find(NEXT_LIVE_SALE)
        if provider is None:
            return None
        try:
            sale = await provider.next_live_sale(now)
        except Exception:  # the live-sales layer failing must not silence the dialogue
            log.exception("%s: its provider failed; answering without it", NEXT_LIVE_SALE)
            return None
        if sale is None:
            return None
        return {"title": sale.title, "starts_at_ms": sale.starts_at_ms, "url": sale.url, "live": sale.live}
