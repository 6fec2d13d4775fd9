"""A chat turn's opening reads (tracker, consent, pause, fact rows, clock) in one round trip on a real Redis,
also when the server forgot the clock's script (a restart, a failover: NOSCRIPT)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.batched_reads import run_batch
from bot.clock import Clock
from bot.keys import Keys
from tests.conftest import bounded
from tests.test_live_sales.conftest import Shop, shop_settings, start_shop

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def shop(serve: Serve, redis: Redis, page_id: str) -> AsyncIterator[Shop]:
    bot = await start_shop(serve, redis, shop_settings(page_id), plugins=["dialogue", "live_sales"])
    yield bot
    await bounded(bot.runtime.stop(), "stop the runtime")


async def test_the_clock_read_in_a_batch_is_the_deployment_clock_and_survives_script_flush(redis: Redis,
                                                                                           keys: Keys) -> None:
    clock = Clock(redis, keys)
    await clock.advance(3600)
    await redis.script_flush()  # the server forgets every script (the next EVALSHA is NOSCRIPT)

    def queue(pipe: object) -> object:
        pipe.get(keys.clock_offset)  # type: ignore[attr-defined]
        return clock.stage_now(pipe)

    staged, replies = await run_batch(redis, queue, clock.now_ms)
    now = staged.value(replies)  # type: ignore[attr-defined]
    assert int(replies[0]) == 3_600_000
    assert abs(now - await clock.now_ms()) < 5_000 and now > 3_600_000


async def test_a_turn_is_answered_after_the_server_forgot_its_scripts(shop: Shop) -> None:
    psid = await shop.shopper("Ana")
    await shop.runtime.redis.script_flush()
    opening = await shop.runtime.context["dialogue"].open_turn(psid)
    assert abs(opening.now - await shop.runtime.clock.now_ms()) < 5_000
    await shop.runtime.redis.script_flush()
    await shop.says(psid, "LIVE")
    await shop.runtime.drain()
    assert any("Get daily" in str(m["message"]) for m in await shop.inbox(psid))


async def test_the_next_live_sale_is_read_with_the_opening_also_after_the_server_forgot_its_script(shop: Shop
                                                                                                ) -> None:
    """The sale is staged in the opening batch (issue 10: no round trip of its own); after a NOSCRIPT both
    staged scripts are made known and the batch runs again."""
    psid = await shop.shopper("Ana")
    await shop.sale("Denim drop", "https://shop.test/denim", scheduled_at="2031-01-01T12:00:00Z")
    await shop.runtime.redis.script_flush()
    opening = await shop.runtime.context["dialogue"].open_turn(psid)
    assert opening.rows.next_live is not None
    sale = opening.rows.next_live[0]
    assert sale is not None and (sale.title, sale.url, sale.live) == ("Denim drop", "https://shop.test/denim", False)
