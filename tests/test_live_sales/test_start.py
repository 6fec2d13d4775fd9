"""Starting a live sale: by API and by the Page going live; once, however many triggers race."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.test_live_sales.conftest import Shop, shop_settings, start_shop


async def test_api_start_notifies_every_subscriber_once(shop: Shop) -> None:
    shoppers = [await shop.subscriber(f"s{i}") for i in range(3)]
    sale = await shop.sale()
    first = await shop.api("POST", f"/api/live-sales/{sale}/start")
    assert first["changed"] and first["outcome"] == "started"
    assert first["live_sale"]["status"] == "live" and first["live_sale"]["started_by"] == "api"
    again = await shop.api("POST", f"/api/live-sales/{sale}/start")
    assert not again["changed"] and again["outcome"] == "live"
    await shop.settle()
    for psid in shoppers:
        [message] = await shop.received(psid)
        button = message["message"]["attachment"]["payload"]["buttons"][0]
        assert button == {"type": "web_url", "url": "https://shop.test/live", "title": "Watch now"}
    view = await shop.api("GET", f"/api/live-sales/{sale}")
    assert view["fanout"] == {"state": "done", "phase": "done", "eligible": 3, "complete": True}
    assert (view["numbers"]["eligible"], view["numbers"]["queued"], view["numbers"]["sent"]) == (3, 3, 3)


async def test_going_live_starts_the_next_scheduled_sale(shop: Shop) -> None:
    psid = await shop.subscriber()
    now = (await shop.call("GET", "/sandbox/clock"))["now_ms"]
    later = await shop.sale("Next week", scheduled_at=_iso(now + 7 * 86_400_000))
    soon = await shop.sale("Tonight", url="https://shop.test/tonight", scheduled_at=_iso(now + 1800_000))
    post = await shop.call("POST", "/sandbox/posts", {"message": "Tonight's denim drop", "live": True})
    await shop.settle()
    started = await shop.api("GET", f"/api/live-sales/{soon}")
    assert started["status"] == "live" and started["started_by"] == "webhook"
    assert started["video_id"] == post["live_video_id"]
    assert (await shop.api("GET", f"/api/live-sales/{later}"))["status"] == "scheduled"
    assert len(await shop.received(psid, "shop.test/tonight")) == 1
    await shop.call("POST", f"/sandbox/posts/{post['post_id']}/live", {"status": "live_stopped"})
    await shop.settle()
    assert (await shop.api("GET", f"/api/live-sales/{soon}"))["status"] == "ended"


async def test_going_live_prefers_the_sale_linked_to_the_video(shop: Shop) -> None:
    await shop.subscriber()
    unlinked = await shop.sale("Planned first")
    post = await shop.call("POST", "/sandbox/posts", {"message": "Surprise live", "live": True})
    linked = await shop.sale("Linked", url="https://shop.test/linked", post_ids=[post["live_video_id"]])
    await shop.settle()  # the webhook is handled now, after the link exists
    assert (await shop.api("GET", f"/api/live-sales/{linked}"))["status"] == "live"
    assert (await shop.api("GET", f"/api/live-sales/{unlinked}"))["status"] == "scheduled"


async def test_going_live_without_a_sale_creates_one_from_the_video(shop: Shop) -> None:
    psid = await shop.subscriber()
    post = await shop.call("POST", "/sandbox/posts", {"message": "Flash sale!", "live": True})
    await shop.settle()
    [sale] = (await shop.api("GET", "/api/live-sales"))["live_sales"]
    assert sale["title"] == "Flash sale!" and sale["status"] == "live" and sale["video_id"] == post["live_video_id"]
    assert sale["url"] == f"https://www.facebook.com/{shop.settings.page_id}/videos/{post['live_video_id']}/"
    assert len(await shop.received(psid, post["live_video_id"])) == 1
    reads = [s for s in await shop.sent() if s["api"] == "read"]
    assert reads and "permalink_url" in reads[0]["path"]  # §2.10: the status and link are read first


async def test_api_start_racing_the_webhook_notifies_once(shop: Shop) -> None:
    shoppers = [await shop.subscriber(f"r{i}") for i in range(4)]
    sale = await shop.sale()
    await shop.call("POST", "/sandbox/posts", {"message": "Going live", "live": True})  # webhook waits in the inbox
    api_start, _ = await asyncio.gather(shop.api("POST", f"/api/live-sales/{sale}/start"),
                                        shop.runtime.drain())
    await shop.settle()
    sales = (await shop.api("GET", "/api/live-sales"))["live_sales"]
    assert [s["id"] for s in sales] == [sale]  # attached, not a second sale
    assert sales[0]["video_id"] and sales[0]["numbers"]["queued"] == 4
    assert sales[0]["started_by"] == ("api" if api_start["changed"] else "webhook")
    for psid in shoppers:
        assert len(await shop.received(psid)) == 1


async def test_two_processes_starting_at_once_start_once(serve: Callable[..., Awaitable[TestClient[Any, Any]]],
                                                         redis: Redis, page_id: str) -> None:
    one = await start_shop(serve, redis, shop_settings(page_id))
    two = await start_shop(serve, redis, shop_settings(page_id))
    try:
        shoppers = [await one.subscriber(f"t{i}") for i in range(5)]
        sale = await one.sale()
        answers = await asyncio.gather(*(shop.api("POST", f"/api/live-sales/{sale}/start")
                                         for shop in (one, two, one, two)))
        assert sum(a["changed"] for a in answers) == 1
        assert sum(await asyncio.gather(one.domain.runner.run_pending(), two.domain.runner.run_pending())) == 1
        await asyncio.gather(one.settle(), two.settle())
        for psid in shoppers:
            assert len(await one.received(psid)) == 1
        numbers = (await two.api("GET", f"/api/live-sales/{sale}"))["numbers"]
        assert (numbers["eligible"], numbers["queued"], numbers["sent"]) == (5, 5, 5)
    finally:
        await one.runtime.stop()
        await two.runtime.stop()


def _iso(ms: int) -> str:
    from live_sales.model import iso

    return str(iso(ms))
