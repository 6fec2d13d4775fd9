"""The shop's time zone (``SHOP_TIMEZONE``): its days count the numbers, and a time without an offset is its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.errors import ConfigError
from bot.settings import Settings
from tests.test_live_sales.conftest import Shop, poll, shop_settings, start_shop

MANILA = "Asia/Manila"  # UTC+8 all year


@pytest.fixture
async def manila_shop(serve: Callable[..., Awaitable[TestClient[Any, Any]]], redis: Redis,
                      page_id: str) -> Any:
    shop = await start_shop(serve, redis, shop_settings(page_id, shop_timezone=MANILA))
    yield shop
    await shop.runtime.stop()


async def _now(shop: Shop) -> datetime:
    return datetime.fromtimestamp((await shop.call("GET", "/sandbox/clock"))["now_ms"] / 1000, tz=timezone.utc)


async def test_a_schedule_time_without_an_offset_is_the_shops(manila_shop: Shop) -> None:
    body = await manila_shop.api("POST", "/api/live-sales", {"title": "Denim", "scheduled_at": "2030-01-02T20:00:00"},
                                 status=201)
    assert body["scheduled_at"] == "2030-01-02T12:00:00Z"  # 20:00 in Manila
    with_offset = await manila_shop.api("POST", "/api/live-sales",
                                        {"title": "Denim", "scheduled_at": "2030-01-02T20:00:00Z"}, status=201)
    assert with_offset["scheduled_at"] == "2030-01-02T20:00:00Z"  # an offset written is kept


async def test_a_start_time_already_past_is_refused(manila_shop: Shop) -> None:
    an_hour_ago = (await _now(manila_shop) - timedelta(hours=1)).isoformat()
    refused = await manila_shop.api("POST", "/api/live-sales", {"title": "Late", "scheduled_at": an_hour_ago},
                                    status=422)
    assert "in the past" in refused["error"]["message"]
    assert (await manila_shop.api("GET", "/api/live-sales"))["live_sales"] == []
    await manila_shop.api("POST", "/api/live-sales", {"title": "Now"}, status=201)  # no time: now, as before


async def test_the_numbers_count_in_the_shops_days(manila_shop: Shop) -> None:
    now = await _now(manila_shop)
    # move the deployment clock to 17:00 UTC: 01:00 of the next day in Manila
    target = now.replace(hour=17, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    await manila_shop.advance((target - now).total_seconds())
    await manila_shop.subscriber("Rita")

    async def carded() -> bool:
        await manila_shop.runtime.drain()
        return bool((await manila_shop.api("GET", "/api/stats?days=2"))["totals"]["sent"] == 1)

    await poll(carded, what="the opt-in card counted")
    stats = await manila_shop.api("GET", "/api/stats?days=2")
    manila_today = (target + timedelta(hours=8)).date().isoformat()
    assert [d["day"] for d in stats["days"]] == [manila_today, target.date().isoformat()]
    assert [d["sent"] for d in stats["days"]] == [1, 0]


def test_an_unknown_shop_time_zone_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="SHOP_TIMEZONE.*Mars/Olympus"):
        Settings.from_env({"SHOP_TIMEZONE": "Mars/Olympus"})


def test_each_page_may_have_its_own_time_zone() -> None:
    settings = Settings.from_env({"FB_PAGES": "111,222", "SHOP_TIMEZONE": "Asia/Manila",
                                  "SHOP_TIMEZONE_222": "Asia/Ho_Chi_Minh"})
    assert settings.for_page("111").shop_timezone == "Asia/Manila"
    assert settings.for_page("222").shop_timezone == "Asia/Ho_Chi_Minh"
    assert str(settings.for_page("222").shop_zone) == "Asia/Ho_Chi_Minh"
    assert Settings.from_env({}).shop_timezone == "UTC"
