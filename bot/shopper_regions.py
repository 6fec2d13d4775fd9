"""Where each shopper is, as far as Meta told us (:class:`bot.regions.Region`), kept per Page.

One hash, one field per fact (``<psid>|tz``, ``<psid>|country``, ``<psid>|looked``,
``<psid>|refused:<route>``), so each source writes its own field with a plain HSET and no
update can undo another. The send worker reads the same fields in its facts script
(``sender_facts.lua``, :data:`FIELDS` in this order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from .keys import Keys
from .regions import Region, country_of_locale
from .replies import text

REFUSABLE = ("otn", "marketing_api", "marketing_legacy")  # routes a region rule can close
FIELDS = ("tz", "country", "looked", *(f"refused:{r}" for r in REFUSABLE))


def region_from_fields(values: Sequence[bytes | str | None]) -> Region:
    """A :class:`Region` from the :data:`FIELDS` values of one shopper (as HMGET gives them, None for none)."""
    decoded = [text(v) if v is not None else "" for v in values]
    timezone, country, looked, *refused = (decoded + [""] * len(FIELDS))[:len(FIELDS)]
    return Region(timezone, country, frozenset(r for r, v in zip(REFUSABLE, refused) if v), looked == "1")


class ShopperRegions:
    """Reads and records shoppers' regions for one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.shopper_regions

    async def read(self, psid: str) -> Region:
        raw = await self._redis.hmget(self._key, [f"{psid}|{f}" for f in FIELDS])
        return region_from_fields(raw)

    async def record_timezone(self, psid: str, timezone: str) -> None:
        """A marketing opt-in's ``notification_messages_timezone``."""
        if timezone:
            await self._redis.hset(self._key, f"{psid}|tz", timezone)

    async def record_profile(self, psid: str, profile: dict[str, object]) -> Region:
        """The User Profile API's answer (``locale``; absent when Meta gives none): asked once per shopper."""
        country = country_of_locale(str(profile.get("locale") or ""))
        mapping: dict[Any, Any] = {f"{psid}|looked": "1", **({f"{psid}|country": country} if country else {})}
        await self._redis.hset(self._key, mapping=mapping)
        return await self.read(psid)

    async def record_refusal(self, psid: str, route: str) -> None:
        """Meta refused a send on ``route`` for the shopper's region: that route is closed for them."""
        if route in REFUSABLE:
            await self._redis.hset(self._key, f"{psid}|refused:{route}", "1")
