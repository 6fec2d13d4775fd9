"""A cancelled campaign stops going out within a second, on every worker (issue 14: 174 of a
305-recipient blast still went out after a cancel 4 s in: jobs already in a worker's hands)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.keys import Keys
from tests.support.sending import Serve, bot_settings, new_port, notification, start_bot, wait_for

RECIPIENTS = 80


async def test_a_cancelled_campaign_sends_nothing_a_second_after_the_cancel(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    # 10 sends a second, 64 jobs a batch: a batch in hand outlasts the cancel by seconds unless
    # each send checks for it
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port(), PAGE_SEND_RATE="10",
                                                     SEND_CONCURRENCY="64"))
    psids = [await bot.shopper(f"s{i}") for i in range(RECIPIENTS)]
    await bot.subscribe(psids)
    await bot.runtime.outbox.enqueue_many([notification(f"blast-{p}", p, "blast-1") for p in psids])
    await wait_for(lambda: _notifications_sent(bot, 5), "the first notifications")
    cancelled_ms = (await bot.call("GET", "/sandbox/clock"))["now_ms"]
    await redis.set(keys.campaign_cancelled("blast-1"), "1")  # what cancelling a fan-out sets
    await asyncio.sleep(2.5)
    late = [s for s in await _notifications(bot) if s["at_ms"] > cancelled_ms + 1000]
    assert late == [], f"{len(late)} notifications went out over a second after the cancel"
    numbers = await bot.runtime.outbox.numbers(campaign="blast-1")
    assert numbers.get("skipped|cancelled", 0) > RECIPIENTS // 2, numbers


async def _notifications(bot) -> list[dict]:  # type: ignore[no-untyped-def]
    return [s for s in await bot.sent() if s["api"] in ("send", "marketing_messages") and s["status"] == 200
            and "We're live" in str(s.get("request"))]


async def _notifications_sent(bot, count: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await _notifications(bot)) >= count
