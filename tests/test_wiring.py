"""The default plugin set wired together (issue 9): the services one plugin offers another, checked at start-up.

Each test starts the bot as ``salebell serve`` would — the plugins installed under the
``salebell.plugins`` entry point, SALEBELL_PLUGINS unset — and goes through the sandbox and the
admin API only. Both production bugs of issue 9 lived in this wiring: the dialogue read a
``next_live`` context entry and a ``linked_posts`` key that no plugin wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.errors import ConfigError
from bot.plugins import installed_plugin_names
from bot.ports import NEXT_LIVE_SALE
from bot.runtime import Runtime
from live_sales.store import SaleStore
from tests.test_dialogue.test_dialogue import chat, texts
from tests.test_live_sales.conftest import Shop, shop_settings, start_shop

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]


async def default_shop(serve: Serve, redis: Redis, page_id: str, **overrides: Any) -> Shop:
    settings = shop_settings(page_id, **overrides)
    assert settings.plugins == installed_plugin_names()  # SALEBELL_PLUGINS unset: every installed plugin
    return await start_shop(serve, redis, settings, plugins=settings.plugins)


async def says(shop: Shop, psid: str, text: str) -> list[str]:
    """What the shopper was answered, as texts."""
    return texts(await chat(shop, psid, text))


async def test_when_is_the_next_live_answers_from_the_live_sales(serve: Serve, redis: Redis, page_id: str) -> None:
    shop = await default_shop(serve, redis, page_id)
    psid = await shop.shopper()
    assert any("No live sale is scheduled" in t for t in await says(shop, psid, "when is your next live?"))
    sale = await shop.sale("Denim drop", "https://shop.test/denim", scheduled_at="2031-01-01T12:00:00Z")
    got = await says(shop, psid, "what time is the next live?")
    assert any("Denim drop" in t and "https://shop.test/denim" in t and "1 Jan" in t for t in got), got
    await shop.sale("Later drop", scheduled_at="2031-02-01T12:00:00Z")
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    got = await says(shop, psid, "live na ba kayo?")
    assert any("live now" in t and "Denim drop" in t for t in got), got


async def test_a_sale_another_process_schedules_is_in_the_very_next_answer(serve: Serve, redis: Redis,
                                                                          page_id: str) -> None:
    """A turn reads "the next live sale" with its first reads, exact every time (issue 10): a sale scheduled
    by another process (its own store, which this process never hears of) shows in the next turn, not a
    second later (the reuse this replaced)."""
    shop = await default_shop(serve, redis, page_id)
    psid = await shop.shopper()
    assert any("No live sale is scheduled" in t for t in await says(shop, psid, "when is your next live?"))
    other_process = SaleStore(redis, shop.runtime.keys)
    now = await shop.runtime.clock.now_ms()
    await other_process.create(title="Denim drop", url="https://shop.test/denim", topic=shop.runtime.settings.optin_topic,
                               scheduled_ms=now + 86_400_000, now_ms=now)
    got = await says(shop, psid, "what time is the next live?")
    assert any("Denim drop" in t and "https://shop.test/denim" in t for t in got), got


async def test_comment_scope_linked_answers_only_under_a_sales_posts(serve: Serve, redis: Redis, page_id: str
                                                                     ) -> None:
    shop = await default_shop(serve, redis, page_id, comment_optin_scope="linked")
    psid = await shop.shopper()
    plain = await shop.call("POST", "/sandbox/posts", {"message": "Hello", "live": False})
    linked = await shop.call("POST", "/sandbox/posts", {"message": "Sale tonight", "live": False})
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [linked["post_id"]]})
    for post in (plain, linked):
        await shop.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    await shop.runtime.drain()
    inbox = await shop.inbox(psid)
    assert len(inbox) == 1, inbox  # one private reply: under the linked post only


async def test_a_needed_service_that_no_plugin_provides_stops_start_up(redis: Redis, page_id: str) -> None:
    settings = shop_settings(page_id, comment_optin_scope="linked", plugins=("dialogue",))
    with pytest.raises(ConfigError, match="dialogue needs the posts linked to a live sale"):
        create_app(settings, redis, runtime=Runtime(settings, redis), plugins=settings.plugins, run_workers=False)
    runtime = Runtime(settings, redis)
    with pytest.raises(ConfigError, match="which no plugin provides"):
        await runtime.load_plugins(settings.plugins)


async def test_a_plugin_that_does_not_register_what_it_declares_is_refused(redis: Redis, page_id: str) -> None:
    settings = shop_settings(page_id)
    runtime = Runtime(settings, redis)
    await runtime.load_plugins(["dialogue"])
    assert runtime.services.find(NEXT_LIVE_SALE) is None  # optional for the dialogue: it runs without
    with pytest.raises(ConfigError, match="boaster declares it provides the posts linked to a live sale"):
        await runtime.load_plugins(["tests.support.boasting_plugin"])
