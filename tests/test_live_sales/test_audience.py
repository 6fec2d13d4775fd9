"""The dashboard's extra admin routes: blast preview, never-opted-in list, shoppers' names, linking posts."""

from __future__ import annotations

from redis.asyncio import Redis

from live_sales.keys import SaleKeys
from tests.test_live_sales.conftest import Shop


async def test_preview_counts_the_policy_decision_per_route_and_reason(shop: Shop) -> None:
    in_window, stopped = await shop.subscriber("Ana"), await shop.subscriber("Cy")
    await shop.subscriber("Ben")
    await shop.otn_holder("Otto")
    await shop.runtime.consent.opt_out_locally(stopped)
    await shop.advance(25 * 3600)  # every window closes...
    await shop.says(in_window, "hi")  # ...and Ana's opens again
    await shop.runtime.drain()
    body = await shop.api("POST", "/api/broadcasts/preview", {"text": "Restock at 9!"})
    assert body["recipients"] == 4 and body["reached"] == 3
    assert body["by_route"] == {"psid": 1, "marketing_api": 1, "otn": 1}
    assert body["skipped"] == {"opted_out": 1} and body["skipped_total"] == 1
    assert body["message_problem"] is None
    assert (await shop.api("GET", "/api/broadcasts"))["broadcasts"] == []  # nothing was sent or stored


async def test_preview_matches_what_the_blast_then_does(shop: Shop) -> None:
    for name in ("Ana", "Ben"):
        await shop.subscriber(name)
    quiet = await shop.new_shopper("Quinn")
    await shop.says(quiet, "hi")
    await shop.runtime.drain()
    preview = await shop.api("POST", "/api/broadcasts/preview", {"text": "Restock!"})
    assert preview["reached"] == 2 and preview["never_opted_in_7_days"] == 1
    blast = await shop.api("POST", "/api/broadcasts", {"text": "Restock!"}, status=202)
    await shop.settle()
    numbers = (await shop.api("GET", f"/api/broadcasts/{blast['id']}"))["numbers"]
    assert numbers["sent"] == preview["reached"] and numbers["skipped_total"] == preview["skipped_total"]


async def test_preview_says_why_messenger_would_refuse_the_message(shop: Shop) -> None:
    body = await shop.api("POST", "/api/broadcasts/preview", {"text": "x" * 2100,
                                                              "topic": "daily_reminders"})
    assert body["message_problem"] and body["recipients"] == 0
    await shop.api("POST", "/api/broadcasts/preview", {"url": "ftp://nope"}, status=422)
    await shop.api("POST", "/api/broadcasts/preview", {"topic": "bad topic!"}, status=422)


async def test_never_opted_in_lists_who_they_are(shop: Shop) -> None:
    await shop.subscriber("Ana")
    quiet = await shop.new_shopper("Quinn Reyes")
    await shop.says(quiet, "magkano po?")
    await shop.runtime.drain()
    body = await shop.api("GET", "/api/stats/not-opted-in?days=7")
    assert body["count"] == 1
    assert body["shoppers"][0]["psid"] == quiet and body["shoppers"][0]["name"] == "Quinn Reyes"
    assert body["shoppers"][0]["last_action_at"].endswith("Z")
    stats = await shop.api("GET", "/api/stats?days=7")
    assert stats["totals"]["active_not_opted_in"] == body["count"]
    await shop.api("GET", "/api/stats/not-opted-in?days=0", status=422)
    await shop.api("GET", "/api/stats/not-opted-in?limit=9999", status=422)


async def test_names_come_from_the_user_profile_api_once(shop: Shop, redis: Redis) -> None:
    ana = await shop.new_shopper("Ana Cruz")
    body = await shop.api("GET", f"/api/shoppers?psid={ana}&psid=70000000000000")
    assert body["shoppers"] == [{"psid": ana, "name": "Ana Cruz"}, {"psid": "70000000000000", "name": None}]
    reads = [s for s in await shop.sent() if s["api"] == "read"]
    await shop.api("GET", f"/api/shoppers?psid={ana}")
    assert [s for s in await shop.sent() if s["api"] == "read"] == reads  # cached
    assert (await redis.hget(SaleKeys.of(shop.runtime.keys).shopper_names, ana)).decode().endswith("|Ana Cruz")
    await shop.api("GET", "/api/shoppers", status=422)
    await shop.api("GET", "/api/shoppers?psid=a%20b", status=422)


async def test_posts_link_to_a_sale_once_until_it_ends(shop: Shop, redis: Redis) -> None:
    sale = await shop.sale(post_ids=["111_1"])
    body = await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": ["111_1", "111_2"]})
    assert body["post_ids"] == ["111_1", "111_2"]
    assert await redis.hget(SaleKeys.of(shop.runtime.keys).live_sale_links, "111_2") == sale.encode()
    await shop.api("POST", "/api/live-sales/ls-999/links", {"post_ids": ["1"]}, status=404)
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": []}, status=422)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.api("POST", f"/api/live-sales/{sale}/end")
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": ["111_3"]}, status=409)
