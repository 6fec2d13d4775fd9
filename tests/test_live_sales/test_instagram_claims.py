"""Claims by comment on Instagram (issue 15), end to end through the sandbox over HTTP.

Instagram shoppers comment "SOLD 12" under the Page's Instagram live (``live_comments``) or a media
(``comments``) linked to a live sale: they claim as on Messenger (by comment time, the waitlist, once
per comment), keyed ``ig:<IGSID>``, and each gets one private reply, a text (what Meta documents for an
Instagram private reply), through the Instagram endpoint. A sale whose live runs on both channels takes
claims from both in one line.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.events import CommentEvent, RawItem
from bot.parsing import parse_item
from bot.sandbox.instagram import comment_change, instagram_changes_body
from tests.conftest import bounded
from tests.support.webhooks import signed
from tests.test_live_sales.conftest import Shop
from tests.test_live_sales.test_claims import Serve, claims_of, claims_shop, comment, settle

SETTLE_MS = 20_000  # comments arrive shuffled within it; the claims are decided after it, by comment time


@pytest.fixture
async def shop(serve: Serve, redis: Redis, page_id: str) -> AsyncIterator[Shop]:
    bot = await claims_shop(serve, redis, page_id, claim_settle_ms=SETTLE_MS)
    yield bot
    await bounded(bot.runtime.stop(), "stop the runtime")


async def ig_shopper(shop: Shop, name: str) -> str:
    """An Instagram shopper's IGSID (their key in the bot is ``ig:<IGSID>``)."""
    return str((await shop.call("POST", "/sandbox/shoppers", {"name": name, "channel": "instagram"}))["psid"])


async def ig_media(shop: Shop, live: bool = True) -> dict[str, Any]:
    return dict(await shop.call("POST", "/sandbox/posts", {"message": "Live on Instagram", "channel": "instagram",
                                                           "live": live}))


async def sale_with(shop: Shop, *products: dict[str, Any]) -> str:
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/products", {"products": list(products)}, status=201)
    return sale


def replies_via(inbox: list[dict[str, Any]], via: str) -> list[dict[str, Any]]:
    return [m for m in inbox if m["via"] == via]


async def private_reply_calls(shop: Shop) -> list[dict[str, Any]]:
    """The Graph calls that were private replies (``recipient.comment_id``), leaving out the reads."""
    return [c for c in await shop.sent() if ((c.get("request") or {}).get("recipient") or {}).get("comment_id")]


async def answers_settled(shop: Shop) -> None:
    """Past the settle window, every claim decided and answered, every answer sent."""
    await shop.runtime.drain(30, send=False)
    await shop.advance(SETTLE_MS / 1000 + 10)
    await settle(shop)


async def test_instagram_claims_go_by_comment_time_each_with_one_text_private_reply(shop: Shop) -> None:
    media = await ig_media(shop)
    assert media["live_video_id"] == media["post_id"]  # an Instagram live is one media: either id links it
    sale = await sale_with(shop, {"code": "12", "title": "Denim jacket", "quantity": 3},
                           {"code": "7", "title": "Shirt", "variants": [{"name": "S", "quantity": 1},
                                                                        {"name": "M", "quantity": 1}]})
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [media["live_video_id"]]})
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    shoppers = [await ig_shopper(shop, f"ig{i}") for i in range(8)]
    first = (await shop.call("GET", "/sandbox/clock"))["now_ms"] // 1000 * 1000 - 60_000
    order = list(range(8))
    random.Random(15).shuffle(order)
    comment_ids = {}
    for i in order:  # they arrive shuffled; their comment times say who was first
        comment_ids[i] = await comment(shop, media["post_id"], shoppers[i], "SOLD 12", timestamp=first + i * 1000)
    asker = await ig_shopper(shop, "Vee")
    await comment(shop, media["post_id"], asker, "sold 7")  # names no variant: asked which, claims nothing
    await shop.runtime.drain(30, send=False)
    assert {c["status"] for c in await claims_of(shop, sale)} == {"pending"}  # inside the settle window
    await answers_settled(shop)

    claims = await claims_of(shop, sale)
    assert [c["psid"] for c in claims] == [f"ig:{s}" for s in shoppers]  # keyed ig:<IGSID>, in comment-time order
    assert [c["status"] for c in claims] == ["claimed"] * 3 + ["waitlisted"] * 5
    assert [c["waitlist_position"] for c in claims[3:]] == [1, 2, 3, 4, 5]
    for i, igsid in enumerate(shoppers):
        inbox = await shop.inbox(igsid)
        [reply] = inbox  # one private reply each, and nothing else
        assert reply["via"] == "instagram_comment" and reply["comment_id"] == comment_ids[i], reply
        assert set(reply["message"]) - {"metadata"} == {"text"}, reply  # a text: what Instagram takes
        text = reply["message"]["text"]
        if i < 3:
            assert "Denim jacket [12] is yours" in text, text
            assert f"https://shop.test/checkout/{comment_ids[i]}?p=12&v=" in text, text  # the link, in the text
        else:
            assert f"number {i - 2} on the waitlist" in text, text
    [question] = await shop.inbox(asker)
    assert question["via"] == "instagram_comment" and "Which one of Shirt [7]" in question["message"]["text"]
    account = shop.settings.instagram_account_id
    calls = await private_reply_calls(shop)
    assert len(calls) == 9 and {c["status"] for c in calls} == {200}
    assert all(c["path"].endswith(f"/{account}/messages") for c in calls), [c["path"] for c in calls]

    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["claims"]
    assert {k: numbers[k] for k in ("comments", "claimed", "waitlisted", "duplicates", "asked_variant")} == {
        "comments": 8, "claimed": 3, "waitlisted": 5, "duplicates": 0, "asked_variant": 1}
    assert (numbers["answers"]["queued"], numbers["answers"]["sent"], numbers["answers"]["pending"]) == (9, 9, 0)
    assert numbers["unanswered_total"] == 0, numbers["unanswered"]
    on_instagram = numbers["answers"]["channels"]["instagram"]
    assert (on_instagram["queued"], on_instagram["sent"], on_instagram["pending"]) == (9, 9, 0)
    assert "messenger" not in numbers["answers"]["channels"]
    [product] = [p for p in (await shop.api("GET", f"/api/live-sales/{sale}/products"))["products"] if p["code"] == "12"]
    assert (product["taken"], product["left"]) == (3, 0)


def ig_comment_body(shop: Shop, media_id: str, comment_id: str, igsid: str, text: str, at_ms: int) -> dict[str, Any]:
    field, value = comment_change(comment_id, igsid, "ina", text, media_id, True, at_ms)
    return instagram_changes_body(shop.settings.instagram_account_id, at_ms, field, value)


async def test_an_instagram_comment_claims_once_however_often_it_arrives(shop: Shop) -> None:
    media = await ig_media(shop)
    sale = await sale_with(shop, {"code": "12", "title": "Jacket", "quantity": 3})
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [media["post_id"]]})
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    ina = await ig_shopper(shop, "Ina")
    comment_id = await comment(shop, media["post_id"], ina, "sold 12")
    await answers_settled(shop)
    at_ms = (await claims_of(shop, sale))[0]["comment_ms"]
    body = ig_comment_body(shop, media["post_id"], comment_id, ina, "sold 12", at_ms)
    raw, headers = signed(body, shop.settings.app_secret.reveal())
    resp = await shop.client.post("/webhook", data=raw, headers=headers)  # Meta's retry
    assert resp.status == 200, await resp.text()
    # past the webhook's dedupe: a worker that died after handling it, handled again
    [change] = body["entry"][0]["changes"]
    event = parse_item(RawItem(page_id=shop.settings.page_id, source="changes", entry_time=1, item=change,
                               channel="instagram"))
    assert isinstance(event, CommentEvent) and event.from_id == f"ig:{ina}"
    await shop.domain.claim_comments.handle(event)
    await answers_settled(shop)
    assert [(c["psid"], c["status"]) for c in await claims_of(shop, sale)] == [(f"ig:{ina}", "claimed")]
    assert len(await shop.inbox(ina)) == 1
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["claims"]
    assert (numbers["comments"], numbers["duplicates"], numbers["answers"]["queued"]) == (1, 1, 1)


async def test_a_sale_live_on_messenger_and_instagram_takes_claims_from_both_in_comment_time_order(
        shop: Shop) -> None:
    fb_post = (await shop.call("POST", "/sandbox/posts", {"message": "Live on Facebook", "live": True}))["post_id"]
    media = await ig_media(shop, live=False)  # a post of the Instagram account (its comments: field comments)
    sale = await sale_with(shop, {"code": "12", "title": "Denim jacket", "quantity": 3})
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [fb_post, media["post_id"]]})
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    # six shoppers, channels alternating; comment times not in the order they arrive
    plan = [("instagram", 4), ("messenger", 2), ("instagram", 1), ("messenger", 5), ("instagram", 3),
            ("messenger", 0)]
    first = (await shop.call("GET", "/sandbox/clock"))["now_ms"] // 1000 * 1000 - 30_000
    by_time: dict[int, tuple[str, str]] = {}
    for n, (channel, second) in enumerate(plan):
        shopper = await ig_shopper(shop, f"ig{n}") if channel == "instagram" else await shop.shopper(f"fb{n}")
        where = media["post_id"] if channel == "instagram" else fb_post
        await comment(shop, where, shopper, "SOLD 12", timestamp=first + second * 1000)
        by_time[second] = (channel, shopper)
    await answers_settled(shop)

    ranked = [by_time[s] for s in sorted(by_time)]
    keys = [f"ig:{shopper}" if channel == "instagram" else shopper for channel, shopper in ranked]
    claims = await claims_of(shop, sale)
    assert [c["psid"] for c in claims] == keys
    assert [c["status"] for c in claims] == ["claimed"] * 3 + ["waitlisted"] * 3
    assert [c["waitlist_position"] for c in claims[3:]] == [1, 2, 3]
    for rank, (channel, shopper) in enumerate(ranked):
        inbox = await shop.inbox(shopper)
        assert len(inbox) == 1, inbox
        [reply] = inbox
        assert reply["via"] == ("instagram_comment" if channel == "instagram" else "comment"), reply
        words = json.dumps(reply["message"])
        assert ("is yours" in words) if rank < 3 else (f"number {rank - 2} on the waitlist" in words), words
        if channel == "instagram":
            assert set(reply["message"]) - {"metadata"} == {"text"}, reply
        elif rank < 3:  # Messenger's private reply keeps its Check out button
            assert reply["message"]["attachment"]["payload"]["buttons"][0]["title"] == "Check out"
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["claims"]
    assert (numbers["comments"], numbers["claimed"], numbers["waitlisted"]) == (6, 3, 3)
    answers = numbers["answers"]
    assert (answers["queued"], answers["sent"], answers["pending"], numbers["unanswered_total"]) == (6, 6, 0, 0)
    assert {c: answers["channels"][c]["sent"] for c in answers["channels"]} == {"messenger": 3, "instagram": 3}


async def test_a_freed_unit_goes_to_the_next_instagram_shopper_in_their_dm(shop: Shop) -> None:
    media = await ig_media(shop)
    sale = await sale_with(shop, {"code": "12", "title": "Jacket", "quantity": 1})
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [media["post_id"]]})
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    ina, ivo, ian = [await ig_shopper(shop, n) for n in ("Ina", "Ivo", "Ian")]
    await shop.says(ivo, "hi po")  # Ivo wrote in the DM: inside his window, a freed unit can be told
    await shop.runtime.drain()
    for second, igsid in enumerate((ina, ian, ivo)):
        await comment(shop, media["post_id"], igsid, "sold 12", ago=50 - second)
    await answers_settled(shop)
    first, *_ = await claims_of(shop, sale)
    await shop.api("PATCH", f"/api/live-sales/{sale}/claims/{first['claim_id']}", {"status": "cancelled"})
    await answers_settled(shop)
    by_psid = {c["psid"]: c for c in await claims_of(shop, sale)}
    # Ian, next in line, is outside his window (a private reply opens none): released unreachable; Ivo gets it
    assert (by_psid[f"ig:{ian}"]["status"], by_psid[f"ig:{ian}"]["reason"]) == ("released", "unreachable")
    assert by_psid[f"ig:{ivo}"]["status"] == "claimed"
    good_news = [m for m in await shop.inbox(ivo) if "Good news" in json.dumps(m["message"])]
    assert len(good_news) == 1 and good_news[0]["via"] == "instagram", await shop.inbox(ivo)
    assert (await shop.api("GET", f"/api/live-sales/{sale}"))["claims"]["promoted"] == 1


async def test_a_claims_private_reply_is_refused_live_ended_once_the_instagram_live_is_over(shop: Shop) -> None:
    """Meta allows a private reply on an Instagram live only while it is broadcast: a claim recorded during the
    live whose answer is due after it ended is refused ``live_ended`` before any call; one under a media post is
    answered as ever."""
    media, post = await ig_media(shop), await ig_media(shop, live=False)
    sale = await sale_with(shop, {"code": "12", "title": "Jacket", "quantity": 3})
    await shop.api("POST", f"/api/live-sales/{sale}/links", {"post_ids": [media["post_id"], post["post_id"]]})
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    ina, ivo = await ig_shopper(shop, "Ina"), await ig_shopper(shop, "Ivo")
    await comment(shop, media["post_id"], ina, "sold 12")  # under the live: a live_comments change
    await comment(shop, post["post_id"], ivo, "sold 12")  # under a post of the account: comments
    await shop.runtime.drain(30, send=False)  # recorded; answered after the settle window
    await shop.call("POST", f"/sandbox/posts/{media['post_id']}/live", {"status": "live_stopped"})
    await answers_settled(shop)
    assert {c["psid"]: c["status"] for c in await claims_of(shop, sale)} == {f"ig:{ina}": "claimed",
                                                                             f"ig:{ivo}": "claimed"}
    assert await shop.inbox(ina) == []
    [answered] = await shop.inbox(ivo)
    assert answered["via"] == "instagram_comment"
    replies = await private_reply_calls(shop)
    assert len(replies) == 1  # none tried for the ended live
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["claims"]
    assert numbers["unanswered"] == {"live_ended": 1}, numbers
