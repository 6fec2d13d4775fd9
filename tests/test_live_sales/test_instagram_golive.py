"""Issue 15's live-sale tests, end to end through the sandbox over HTTP.

- An Instagram shopper comments "LIVE" under an Instagram live video -> one private reply -> they answer
  in the DM -> the opt-in card -> opt-in -> the host starts a live sale -> one go-live notification in
  their Instagram inbox.
- A Page with both channels runs one sale, and its numbers show each channel.

The bot runs with every installed plugin (the dialogue and the live sales), as ``salebell serve`` does;
everything it sends goes through the sandbox's Graph API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.conftest import OPTIN_TITLE, TOPIC, bounded
from tests.test_live_sales.conftest import Shop, poll, shop_settings, start_shop

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]
SALE_URL = "https://shop.test/ig-live"


def optin_cards(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in entries
            if (m["message"].get("attachment") or {}).get("payload", {}).get("template_type") == "notification_messages"]


@pytest.fixture
async def shop(serve: Serve, redis: Redis, page_id: str) -> Any:
    """The bot with every installed plugin (the dialogue answers "LIVE"; the live sales fan out)."""
    settings = shop_settings(page_id)
    bot = await start_shop(serve, redis, settings, plugins=settings.plugins)
    yield bot
    await bounded(bot.runtime.stop(), "stop the runtime")


async def subscriber(shop: Shop, name: str, channel: str) -> str:
    """A shopper on ``channel`` who wrote "LIVE" in the chat, got the card and tapped it; their sandbox id."""
    shopper = str((await shop.call("POST", "/sandbox/shoppers", {"name": name, "channel": channel}))["psid"])
    await shop.call("POST", f"/sandbox/shoppers/{shopper}/messages", {"text": "LIVE"})
    await shop.drain()
    await shop.call("POST", f"/sandbox/shoppers/{shopper}/optins", {"title": OPTIN_TITLE})
    await shop.drain()
    key = f"ig:{shopper}" if channel == "instagram" else shopper
    subscription = await shop.runtime.consent.subscription(key, TOPIC)
    assert subscription is not None and subscription.status == "active"
    return shopper


async def test_an_instagram_comment_live_leads_to_one_private_reply_the_card_an_opt_in_and_the_go_live_notice(
        shop: Shop) -> None:
    igsid = str((await shop.call("POST", "/sandbox/shoppers", {"name": "Ina", "channel": "instagram"}))["psid"])
    video = await shop.call("POST", "/sandbox/posts", {"message": "Live now", "channel": "instagram", "live": True})
    comment = await shop.call("POST", f"/sandbox/posts/{video['post_id']}/comments",
                              {"psid": igsid, "message": "LIVE"})
    assert comment["webhook_status"] == 200
    await shop.drain()

    # one private reply, through the Instagram endpoint, as a text (what Meta documents for it)
    inbox = await shop.inbox(igsid)
    assert [m["via"] for m in inbox] == ["instagram_comment"], inbox
    reply = inbox[0]
    assert reply["comment_id"] == comment["comment_id"]
    assert set(reply["message"]) - {"metadata"} == {"text"} and "LIVE" in reply["message"]["text"], reply
    assert not optin_cards(inbox)
    assert not (await shop.call("GET", f"/sandbox/shoppers/{igsid}"))["window_open"]  # the reply opened nothing
    await shop.call("POST", f"/sandbox/shoppers/{igsid}/optins", {"title": OPTIN_TITLE}, status=409)  # no card yet

    # the shopper answers in the DM: the window is open and the card comes, in Instagram's elements[] shape
    answer = await shop.call("POST", f"/sandbox/shoppers/{igsid}/messages", {"text": "LIVE"})
    assert answer["webhook_status"] == 200
    await shop.drain()
    cards = optin_cards((await shop.inbox(igsid))[1:])
    assert len(cards) == 1 and cards[0]["via"] == "instagram", await shop.inbox(igsid)
    assert cards[0]["message"]["attachment"]["payload"]["elements"][0]["title"] == OPTIN_TITLE

    # the opt-in tap subscribes the ig: shopper
    await shop.call("POST", f"/sandbox/shoppers/{igsid}/optins", {"title": OPTIN_TITLE})
    await shop.drain()
    subscription = await shop.runtime.consent.subscription(f"ig:{igsid}", TOPIC)
    assert subscription is not None and subscription.status == "active"

    # the host starts a live sale: one go-live notification, inside the window, through the Instagram endpoint
    sale = await shop.sale("Instagram drop", SALE_URL)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    notices = await shop.received(igsid, SALE_URL)
    assert len(notices) == 1 and notices[0]["via"] == "instagram", await shop.inbox(igsid)
    account = shop.settings.instagram_account_id
    calls = [c for c in await shop.sent() if SALE_URL in json.dumps(c.get("request"))]
    assert len(calls) == 1 and calls[0]["path"].endswith(f"/{account}/messages") and calls[0]["status"] == 200
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]
    assert numbers["sent"] == 1 and numbers["skipped_total"] == 0, numbers


async def test_a_page_with_both_channels_runs_one_sale_and_its_numbers_show_each_channel(shop: Shop) -> None:
    quiet = await subscriber(shop, "Iris", "instagram")
    await shop.advance(25 * 3600)  # Iris's window closes: no Instagram route is left for her
    on_messenger = [await subscriber(shop, name, "messenger") for name in ("Ana", "Ben")]
    on_instagram = await subscriber(shop, "Ina", "instagram")
    sale = await shop.sale("Both channels", SALE_URL)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    for shopper in (*on_messenger, on_instagram):
        assert len(await shop.received(shopper, SALE_URL)) == 1
    assert not await shop.received(quiet, SALE_URL)

    async def numbers() -> dict[str, Any]:
        return dict((await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"])

    async def seen() -> bool:  # the sandbox's receipt pump: delivery and read on Messenger, seen on Instagram
        await shop.drain()  # no workers run here: the receipts' webhooks are handled by draining
        channels = (await numbers())["channels"]
        return channels["messenger"]["read"] == 2 and channels["instagram"]["read"] == 1

    await poll(seen, what="the receipts of both channels")
    got = await numbers()
    assert (got["sent"], got["skipped"]) == (3, {"not_on_instagram": 1})  # the totals, as before
    messenger, instagram = got["channels"]["messenger"], got["channels"]["instagram"]
    assert (messenger["sent"], messenger["delivered"], messenger["skipped_total"], messenger["done"]) == (2, 2, 0, 2)
    assert (instagram["sent"], instagram["read"], instagram["skipped"], instagram["done"]) == (
        1, 1, {"not_on_instagram": 1}, 2)
    assert list(got["channels"]) == ["messenger", "instagram"]
    stats = await shop.api("GET", "/api/stats?days=2")  # the clock moved a day: the opt-in cards of two days
    today, totals = stats["days"][0]["channels"], stats["totals"]["channels"]
    assert today["instagram"]["skipped"] == {"not_on_instagram": 1} and today["messenger"]["sent"] >= 2
    assert totals["instagram"]["sent"] == sum(d["channels"].get("instagram", {}).get("sent", 0)
                                              for d in stats["days"]) >= 3  # two cards and the notice
    assert list(totals) == ["messenger", "instagram"]


async def test_a_sales_numbers_show_each_channels_queued_and_pending(shop: Shop) -> None:
    on_messenger = [await subscriber(shop, name, "messenger") for name in ("Ana", "Ben")]
    on_instagram = await subscriber(shop, "Ina", "instagram")
    sale = await shop.sale("Both channels", SALE_URL)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    while await shop.domain.runner.run_pending():  # the fan-out queues its notifications; none is sent yet
        pass

    async def channels() -> dict[str, Any]:
        return dict((await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]["channels"])

    queued = await channels()
    assert {c: (n["queued"], n["pending"], n["done"]) for c, n in queued.items()} == {
        "messenger": (2, 2, 0), "instagram": (1, 1, 0)}, queued
    await shop.settle()
    for shopper in (*on_messenger, on_instagram):
        assert len(await shop.received(shopper, SALE_URL)) == 1
    done = await channels()
    assert {c: (n["queued"], n["pending"], n["done"]) for c, n in done.items()} == {
        "messenger": (2, 0, 2), "instagram": (1, 0, 1)}, done
    stats = await shop.api("GET", "/api/stats?days=1")  # a day counts no queued: its channels show none
    assert "queued" not in stats["days"][0]["channels"]["instagram"]
