"""Order updates (transactional, with the opt-in offer of a confirmed order) and the per-day numbers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.graph import payloads
from bot.send_jobs import SendJob
from tests.test_live_sales.conftest import TITLE, TOPIC, Shop, poll, shop_settings, start_shop


def order(psid: str, order_id: str = "A-1001", status: str = "shipped", **extra: object) -> dict[str, object]:
    return {"psid": psid, "order_id": order_id, "status": status, **extra}


async def test_an_update_inside_the_window_goes_as_update_and_once(shop: Shop) -> None:
    psid = await shop.shopper()
    await shop.says(psid, "where is my parcel?")
    first = await shop.api("POST", "/api/order-updates", order(psid), status=202)
    again = await shop.api("POST", "/api/order-updates", order(psid), status=202)
    assert first["queued"] and not again["queued"] and first["job_id"] == again["job_id"]
    assert first["optin_offered"] is False and first["optin_reason"] == "not_confirmed"
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert (message["messaging_type"], message["tag"], message["message"]["text"]) == (
        "UPDATE", None, "Your order A-1001 has shipped.")


async def test_outside_the_window_it_carries_the_post_purchase_tag(shop: Shop) -> None:
    psid = await shop.shopper()
    await shop.says(psid, "thanks!")
    await shop.advance(30 * 3600)
    answer = await shop.api("POST", "/api/order-updates", order(psid, confirmed=True), status=202)
    assert answer["optin_offered"] is False and answer["optin_reason"] == "outside_window"
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert (message["messaging_type"], message["tag"]) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")


async def test_a_confirmed_order_offers_the_optin_once_to_a_shopper_not_subscribed(shop: Shop) -> None:
    psid = await shop.shopper()
    await shop.says(psid, "I'll take the blue one")
    await shop.runtime.drain()  # the bot has seen the message: the window is open
    answer = await shop.api("POST", "/api/order-updates",
                            order(psid, "B-7", "confirmed", items=[{"title": "blue dress", "quantity": 1}],
                                  confirmed=True), status=202)
    assert answer["optin_offered"] and answer["optin_queued"]
    await shop.runtime.drain()
    update, card = await shop.inbox(psid)
    assert update["message"]["text"] == "Your order B-7 is confirmed.\n• 1 × blue dress"
    assert card["message"]["attachment"]["payload"]["template_type"] == "notification_messages"
    await shop.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": TITLE})
    await shop.runtime.drain()
    assert (await shop.runtime.consent.subscription(psid, TOPIC)) is not None
    later = await shop.api("POST", "/api/order-updates", order(psid, "B-8", "confirmed", confirmed=True),
                           status=202)
    assert later["optin_offered"] is False and later["optin_reason"] == "already_subscribed"


async def test_an_update_is_rendered_from_its_structure(shop: Shop) -> None:
    psid = await shop.shopper()
    await shop.says(psid, "where is my parcel?")
    body = order(psid, "C-3", "out_for_delivery", items=[{"title": "Red dress (M)", "quantity": 2}],
                 total={"amount": 1200, "currency": "PHP"}, tracking_url="https://track.test/C-3")
    await shop.api("POST", "/api/order-updates", body, status=202)
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert message["message"]["text"] == ("Your order C-3 is out for delivery.\n• 2 × Red dress (M)\n"
                                          "Total: PHP 1,200.00\nTrack it: https://track.test/C-3")
    for bad in ({"status": "50% OFF"}, {"status": None}, {"items": "dress"}, {"total": {"amount": 5}},
                {"tracking_url": "javascript:alert(1)"}):
        answer = await shop.api("POST", "/api/order-updates", {**body, **bad}, status=422)
        assert answer["error"]["message"], (bad, answer)


async def test_free_text_never_goes_outside_the_window(shop: Shop) -> None:
    """Issue 14: "FLASH SALE 50% OFF everything tonight!" went out outside the window with POST_PURCHASE_UPDATE."""
    psid = await shop.shopper()
    await shop.says(psid, "thanks!")
    await shop.advance(30 * 3600)
    ad = {"psid": psid, "order_id": "A-1", "text": "FLASH SALE 50% OFF everything tonight! Use code SALE50"}
    answer = await shop.api("POST", "/api/order-updates", ad, status=422)
    assert "24 hours" in answer["error"]["message"]
    await shop.says(psid, "hello again")  # the window opens; a note is fine now...
    await shop.runtime.drain()
    queued = await shop.api("POST", "/api/order-updates", {**ad, "text": "We packed it with a free gift!"},
                            status=202)
    await shop.advance(25 * 3600)  # ...but the window closes before it is sent: no tag may carry it
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(queued["job_id"])
    assert record is not None and (record.state, record.reason) == ("skipped", "outside_window")
    assert [m for m in await shop.inbox(psid) if m.get("tag")] == []


async def test_with_tags_off_an_update_outside_the_window_is_skipped(serve: Callable[..., Awaitable[TestClient[Any, Any]]],
                                                                     redis: Redis, page_id: str) -> None:
    shop = await start_shop(serve, redis, shop_settings(page_id, message_tags_enabled=False))
    try:
        psid = await shop.shopper()
        await shop.says(psid, "hi", timestamp=(await shop.call("GET", "/sandbox/clock"))["now_ms"] - 90_000_000)
        answer = await shop.api("POST", "/api/order-updates", order(psid), status=202)
        await shop.runtime.drain()
        record = await shop.runtime.outbox.record(answer["job_id"])
        assert record is not None and (record.state, record.reason) == ("skipped", "feature_off")
        assert await shop.inbox(psid) == []
    finally:
        await shop.runtime.stop()


async def test_stats_per_day_with_reasons_and_the_never_opted_in_warning(shop: Shop) -> None:
    reader = await shop.subscriber("Rita")
    blocked = await shop.subscriber("Bo")
    await shop.call("POST", f"/sandbox/shoppers/{blocked}/block", {})
    never = await shop.shopper("Nell")
    day_ago = (await shop.call("GET", "/sandbox/clock"))["now_ms"] - 25 * 3_600_000
    await shop.says(never, "when is the next live?", timestamp=day_ago)  # chatted, but the window has closed
    blast = await shop.api("POST", "/api/broadcasts", {"text": "New arrivals tonight"}, status=202)
    # a notification for a shopper with no consent at all (the dialogue may queue one): skipped, never opted in
    await shop.runtime.outbox.enqueue(SendJob(id=f"ask-{never}", purpose="notification", psid=never, topic=TOPIC,
                                              campaign="reminders", message=payloads.text("We're live!")))
    await shop.settle()

    async def receipts_in() -> bool:
        await shop.runtime.drain()
        return bool((await shop.api("GET", "/api/stats?days=7"))["days"][0]["read"] == 3)

    await poll(receipts_in, what="the read receipt")
    stats = await shop.api("GET", "/api/stats?days=7")
    assert len(stats["days"]) == 7
    today = stats["days"][0]
    assert {k: today[k] for k in ("sent", "delivered", "read", "failed", "never_opted_in")} == {
        "sent": 3, "delivered": 3, "read": 3, "failed": {"unreachable": 1}, "never_opted_in": 1}  # 2 cards, 1 blast
    assert all(d["sent"] == 0 for d in stats["days"][1:])
    # Nell chatted a day ago and never opted in; Rita and Bo did opt in
    assert stats["totals"]["active_not_opted_in"] == 1
    assert any("1 shoppers who messaged or commented in these 7 days never opted in" in w
               for w in stats["warnings"])
    assert any("notifications were not sent because the shopper never opted in" in w for w in stats["warnings"])
    assert (await shop.api("GET", "/api/stats?days=7&topic=other"))["totals"]["active_not_opted_in"] == 3
    await shop.runtime.consent.opt_out_locally(never)  # said stop in chat: a choice, not a missed opt-in
    assert (await shop.api("GET", "/api/stats?days=7"))["totals"]["active_not_opted_in"] == 0
    view = await shop.api("GET", f"/api/broadcasts/{blast['id']}")
    assert (view["numbers"]["sent"], view["numbers"]["failed"], view["numbers"]["read"]) == (1, {"unreachable": 1}, 1)
    assert len(await shop.inbox(reader)) == 2  # the opt-in card, then the blast
    await shop.advance(86_400)
    moved = await shop.api("GET", "/api/stats?days=2")
    assert [d["sent"] for d in moved["days"]] == [0, 3] and moved["totals"]["failed"] == {"unreachable": 1}
