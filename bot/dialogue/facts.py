"""The facts an action sees as slots (see :mod:`bot.dialogue.kit`), read from Redis before it runs.

The next scheduled live sale comes from the live-sales layer through a context entry
it may provide: ``runtime.context["next_live"]``, an async callable returning
``(title, starts_at_ms, url)`` or ``None``. Without it, no sale is scheduled.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis

from ..clock import Clock
from ..consent import ConsentStore
from ..keys import Keys
from ..policy import NOT_EU_EUROPE, WEEK_MS, WINDOW_MS
from ..settings import Settings

log = logging.getLogger(__name__)

NextLive = Callable[[], Awaitable[tuple[str, int, str] | None]]
_EU_EXACT = frozenset({"GB", "Eire", "Asia/Nicosia", "Asia/Famagusta"})
_EU_PREFIXES = ("Europe/", "Atlantic/Canary", "Atlantic/Madeira", "Atlantic/Azores")


def otn_region_allowed(timezone: str) -> bool:
    """One-time notifications are unavailable in EU/UK chats (messenger-platform.md §3.7, §4.7)."""
    if timezone in _EU_EXACT:
        return False
    return not (timezone.startswith(_EU_PREFIXES) and timezone not in NOT_EU_EUROPE)


class FactReader:
    """Builds the fact slots for one shopper."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, clock: Clock, consent: ConsentStore,
                 context: Mapping[str, Any]) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._clock = clock
        self._consent = consent
        self._context = context

    async def read(self, psid: str, channel: str) -> dict[str, Any]:
        s = self._settings
        now = await self._clock.now_ms()
        consent = await self._consent.consent(psid, s.optin_topic)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.optin_asked(psid), s.optin_title)
            pipe.hget(self._keys.window, psid)
            asked_raw, window_raw = await pipe.execute()
        asked, last_action = int(asked_raw or 0), int(window_raw or 0)
        sub = consent.subscription
        timezone = sub.timezone if sub else ""
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
            "in_window": bool(last_action) and now - last_action < WINDOW_MS,
            "otn_allowed": s.otn_enabled and otn_region_allowed(timezone),
            "next_live": await self._next_live(),
            "timezone": timezone,
            "shop_url": s.shop_url,
            "fallback_text": s.fallback_text,
        }

    async def _next_live(self) -> dict[str, Any] | None:
        provider: NextLive | None = self._context.get("next_live")
        if provider is None:
            return None
        try:
            found = await provider()
        except Exception:  # the live-sales layer failing must not silence the dialogue
            log.exception("next_live provider failed; answering without it")
            return None
        if not found:
            return None
        title, starts_at_ms, url = found
        return {"title": title, "starts_at_ms": int(starts_at_ms), "url": url}
