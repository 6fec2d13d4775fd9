"""Instagram as one more channel of a Page (issue 15): settings, webhooks, sending, the sandbox, the dialogue.

Everything sent goes through the sandbox's Graph API over real HTTP; the bot is the sandbox bot with the
dialogue plugin (tests/test_dialogue/test_dialogue.py's ``start_bot``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.errors import ConfigError
from bot.events import EchoEvent, MessageEvent, PostbackEvent, RawItem, ReadEvent
from bot.graph import payloads
from bot.pages import PAGES
from bot.parsing import events_of_body, parse_item
from bot.send_jobs import SendJob
from bot.settings import Settings
from tests.conftest import REDIS_URL, SandboxBot, bounded
from tests.support.redis_server import free_port
from tests.support.webhooks import now_ms, signed
from tests.test_dialogue.test_dialogue import start_bot

Serve = Callable[..., Awaitable[TestClient]]
TITLE = "Get daily reminders"


@pytest.fixture
async def bot(serve: Serve, redis: Redis, page_id: str) -> SandboxBot:
    return await start_bot(serve, redis, page_id)


async def ig_shopper(bot: SandboxBot, name: str = "Ina") -> str:
    created = await bot.call("POST", "/sandbox/shoppers", {"name": name, "channel": "instagram"})
    assert created["channel"] == "instagram"
    return str(created["psid"])


async def counters(bot: SandboxBot) -> dict[str, int]:
    raw = await bot.runtime.redis.hgetall(bot.runtime.keys.counters)
    return {k.decode(): int(v) for k, v in raw.items()}


def ig_body(account: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": account, "time": now_ms(), "messaging": list(items)}]}


def ig_message(account: str, igsid: str, text: str, mid: str) -> dict[str, Any]:
    return {"sender": {"id": igsid}, "recipient": {"id": account}, "timestamp": now_ms(),
            "message": {"mid": mid, "text": text}}


async def post_webhook(bot: SandboxBot, body: dict[str, Any]) -> int:
    raw, headers = signed(body, bot.settings.app_secret.reveal())
    return (await bot.client.post("/webhook", data=raw, headers=headers)).status


# -- settings ---------------------------------------------------------------------------------------


def test_the_sandbox_gives_every_page_an_instagram_account_and_production_only_when_set() -> None:
    two = Settings.from_env({"FB_PAGES": "912345678901234,912345678901235"})
    accounts = [p.instagram_account_id for p in two.pages]
    assert all(accounts) and len(set(accounts)) == 2
    assert two.for_page("912345678901235").instagram_account_id == accounts[1]
    prod = {"FB_PAGE_ACCESS_TOKEN": "t", "FB_APP_SECRET": "s", "FB_VERIFY_TOKEN": "v", "ADMIN_TOKEN": "a",
            "REDIS_URL": REDIS_URL, "FB_PAGE_ID": "111"}
    assert Settings.from_env(prod).instagram_account_id == ""  # unset: no Instagram channel
    assert Settings.from_env({**prod, "FB_INSTAGRAM_ACCOUNT_ID": "178401"}).pages[0].instagram_account_id == "178401"
    several = {**prod, "FB_PAGE_ID": "", "FB_PAGES": "111,222", "FB_PAGE_ACCESS_TOKEN": "",
               "FB_PAGE_ACCESS_TOKEN_111": "t1", "FB_PAGE_ACCESS_TOKEN_222": "t2",
               "FB_INSTAGRAM_ACCOUNT_ID_222": "178402", "FB_INSTAGRAM_ACCOUNT_ID": "178409"}
    pages = Settings.from_env(several).pages
    assert [p.instagram_account_id for p in pages] == ["", "178402"]  # one account is one Page's: no sharing
    with pytest.raises(ConfigError, match="FB_INSTAGRAM_ACCOUNT_ID"):
        Settings.from_env({**prod, "FB_INSTAGRAM_ACCOUNT_ID": "@myshop"})


# -- webhooks ---------------------------------------------------------------------------------------


async def test_an_instagram_dm_saying_live_gets_the_opt_in_card_through_the_instagram_endpoint(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    got = await bot.chat(igsid, "LIVE")
    cards = [m for m in got if (m["message"].get("attachment") or {}).get("payload", {}).get("template_type")
             == "notification_messages"]
    assert len(cards) == 1, got
    assert all(m["via"] == "instagram" for m in got)
    element = cards[0]["message"]["attachment"]["payload"]["elements"][0]  # Instagram's shape (§3.5)
    assert element["title"] == TITLE
    account = bot.settings.instagram_account_id
    calls = [c for c in await bot.sent() if igsid in json.dumps(c.get("request"))]
    assert calls and all(c["path"].endswith(f"/{account}/messages") and c["status"] == 200 for c in calls)
    # the bot keys the shopper ig:<IGSID>: their window is not a Messenger shopper's of the same digits
    assert await bot.runtime.redis.hget(bot.runtime.keys.window, f"ig:{igsid}") is not None
    assert await bot.runtime.redis.hget(bot.runtime.keys.window, igsid) is None


async def test_an_instagram_text_gets_a_text_answer_and_a_postback_works(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    answered = await bot.chat(igsid, "hello, how much is shipping?")
    assert bot.texts(answered) and all(m["via"] == "instagram" for m in answered)
    before = len(await bot.inbox(igsid))
    await bot.call("POST", f"/sandbox/shoppers/{igsid}/postbacks", {"payload": "GET_STARTED", "title": "Get Started"})
    await bot.drain()
    assert len(await bot.inbox(igsid)) > before


async def test_instagram_seen_and_echoes_are_heard_and_no_delivery_receipt_comes(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    await bot.chat(igsid, "LIVE")
    for _ in range(50):  # the sandbox's receipt pump posts every 100 ms
        seen = await counters(bot)
        if seen.get("events_total|read"):
            break
        await bot.runtime.drain()
        await __import__("asyncio").sleep(0.1)
    await bot.runtime.drain()
    seen = await counters(bot)
    assert seen.get("events_total|read", 0) >= 1 and seen.get("events_total|echo", 0) >= 1, seen
    assert "events_total|delivery" not in seen


async def test_an_unknown_instagram_account_is_rejected_with_its_reason_and_costs_no_other_event(
        bot: SandboxBot) -> None:
    account = bot.settings.instagram_account_id
    body = {"object": "instagram", "entry": [
        ig_body("178499999999999", ig_message("178499999999999", "4242", "for nobody", "m.ig.x"))["entry"][0],
        ig_body(account, ig_message(account, "4343", "hi", "m.ig.y"))["entry"][0]]}
    assert await post_webhook(bot, body) == 200
    assert await post_webhook(bot, body) == 200  # Meta's redelivery: deduped
    await bot.runtime.drain()
    seen = await counters(bot)
    assert seen.get("events_rejected_total|unknown_instagram_account") == 2
    assert seen.get("events_total|message") == 1


async def test_a_body_of_another_object_is_still_400(bot: SandboxBot) -> None:
    assert await post_webhook(bot, {"object": "whatsapp_business_account", "entry": []}) == 400


async def test_instagram_entries_go_to_the_page_their_account_is_linked_to(serve: Serve, redis: Redis,
                                                                           page_id: str) -> None:
    other = "8" + page_id[1:]
    port = free_port()
    settings = Settings.from_env({"FB_PAGES": f"{page_id},{other}", "PORT": str(port), "REDIS_URL": REDIS_URL})
    client = await serve(create_app(settings, redis, run_workers=False), port=port)
    pages = client.server.app[PAGES]  # type: ignore[attr-defined]
    try:
        a, b = (pages.get(p) for p in (page_id, other))
        acc_a, acc_b = a.settings.instagram_account_id, b.settings.instagram_account_id
        body = {"object": "instagram", "entry": [
            ig_body(acc_b, ig_message(acc_b, "5151", "for B", "m.ig.b1"))["entry"][0],
            ig_body(acc_b, ig_message(acc_b, "5152", "for B too", "m.ig.b2"))["entry"][0],
            ig_body(acc_a, ig_message(acc_a, "5153", "for A", "m.ig.a1"))["entry"][0]]}
        raw, headers = signed(body, settings.app_secret.reveal())
        assert (await client.post("/webhook", data=raw, headers=headers)).status == 200
        await pages.drain(send=False)
        found = {}
        for rt in (a, b):
            raw_counters = await redis.hgetall(rt.keys.counters)
            found[rt.settings.page_id] = {k.decode(): int(v) for k, v in raw_counters.items()}
        assert found[page_id].get("events_total|message") == 1, found
        assert found[other].get("events_total|message") == 2, found
        assert not any("rejected" in k for c in found.values() for k in c)
    finally:
        await bounded(pages.stop(), "stop the runtimes")
        for p in (page_id, other):
            keys = [k async for k in redis.scan_iter(match=f"*{p}*", count=1000)]
            if keys:
                await redis.delete(*keys)


# -- comments ---------------------------------------------------------------------------------------


async def test_live_under_an_instagram_post_gets_one_private_reply(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    post = await bot.call("POST", "/sandbox/posts", {"message": "New drop!", "channel": "instagram"})
    comment = await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": igsid, "message": "LIVE"})
    assert comment["webhook_status"] == 200
    await bot.drain()
    replies = [m for m in await bot.inbox(igsid) if m.get("comment_id") == comment["comment_id"]]
    assert len(replies) == 1 and replies[0]["via"] == "instagram_comment", await bot.inbox(igsid)
    path = [c["path"] for c in await bot.sent() if comment["comment_id"] in json.dumps(c.get("request"))]
    assert path and path[0].endswith(f"/{bot.settings.instagram_account_id}/messages")


async def test_a_comment_on_an_instagram_live_comes_as_live_comments_and_is_answered_while_live(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live now", "channel": "instagram", "live": True})
    comment = await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": igsid, "message": "LIVE"})
    await bot.drain()
    assert [m["via"] for m in await bot.inbox(igsid) if m.get("comment_id") == comment["comment_id"]] == [
        "instagram_comment"]


async def test_an_instagram_private_reply_is_a_text_the_sandbox_refuses_more_and_the_bot_never_sends_more(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    post = await bot.call("POST", "/sandbox/posts", {"message": "New drop!", "channel": "instagram"})
    first, second = [await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments",
                                    {"psid": igsid, "message": text}) for text in ("nice", "so nice")]
    await bot.drain()  # neither is the keyword: no private reply yet
    url = f"/sandbox/graph/{bot.settings.graph_api_version}/{bot.settings.instagram_account_id}/messages"
    token = {"Authorization": f"Bearer {bot.settings.page_access_token.reveal()}"}
    quick_reply = {"text": "Want reminders?", "quick_replies": [
        {"content_type": "text", "title": "Yes", "payload": "OPTIN_YES"}]}
    resp = await bot.client.post(url, json={"recipient": {"comment_id": first["comment_id"]}, "message": quick_reply},
                                 headers=token)
    assert resp.status == 400 and "message[text] only" in (await resp.json())["error"]["message"]
    resp = await bot.client.post(url, json={"recipient": {"comment_id": first["comment_id"]},
                                            "message": {"text": "Thanks! Reply LIVE here for reminders"}},
                                 headers=token)
    assert resp.status == 200
    # the bot's own policy: a private reply with a quick reply is refused before any call, with its reason
    calls = len(await bot.sent())
    job = SendJob(id="ig-pr-qr", purpose="private_reply", message=quick_reply, comment_id=second["comment_id"],
                  comment_ms=second["timestamp"], channel="instagram")
    await bot.runtime.outbox.enqueue(job)
    await bot.drain()
    record = await bot.runtime.outbox.record("ig-pr-qr")
    assert record is not None and (record.state, record.reason) == ("skipped", "not_on_instagram")
    assert len(await bot.sent()) == calls


async def test_the_sandbox_keeps_each_channel_s_comments_apart(bot: SandboxBot) -> None:
    igsid, psid = await ig_shopper(bot), await bot.shopper()
    ig_post = await bot.call("POST", "/sandbox/posts", {"message": "IG", "channel": "instagram"})
    fb_post = await bot.call("POST", "/sandbox/posts", {"message": "FB"})
    await bot.call("POST", f"/sandbox/posts/{ig_post['post_id']}/comments", {"psid": psid, "message": "x"}, status=409)
    await bot.call("POST", f"/sandbox/posts/{fb_post['post_id']}/comments", {"psid": igsid, "message": "x"},
                   status=409)
    await bot.call("POST", "/sandbox/shoppers", {"name": "X", "channel": "tiktok"}, status=400)


# -- sending: the policy and the sandbox's Graph API ------------------------------------------------


async def test_what_instagram_does_not_allow_is_refused_before_any_call(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    await bot.chat(igsid, "hi")
    await bot.advance(25 * 3600)  # the window closed: on Messenger an order update would go with a tag
    calls = len(await bot.sent())
    job = SendJob(id="ig-order-1", purpose="transactional", psid=f"ig:{igsid}", message={"text": "Your order shipped"})
    assert job.channel == "instagram"
    await bot.runtime.outbox.enqueue(job)
    await bot.drain()
    record = await bot.runtime.outbox.record("ig-order-1")
    assert record is not None and (record.state, record.reason) == ("skipped", "not_on_instagram")
    assert len(await bot.sent()) == calls  # no Graph call


async def test_the_sandbox_graph_api_serves_instagram_shoppers_only_at_the_instagram_endpoint(
        bot: SandboxBot) -> None:
    igsid, psid = await ig_shopper(bot), await bot.shopper()
    await bot.says(igsid, "hi")
    await bot.says(psid, "hi")
    account = bot.settings.instagram_account_id
    token = {"Authorization": f"Bearer {bot.settings.page_access_token.reveal()}"}
    version = bot.settings.graph_api_version

    async def send(node: str, body: dict[str, Any]) -> tuple[int, Any]:
        resp = await bot.client.post(f"/sandbox/graph/{version}/{node}/messages", json=body, headers=token)
        return resp.status, await resp.json()

    text = {"text": "hello"}
    ok = await send(account, {"recipient": {"id": igsid}, "message": text})
    assert ok[0] == 200 and ok[1]["message_id"]
    no_user = {"message": "(#100) No matching user found", "type": "OAuthException", "code": 100,
               "error_subcode": 2018001}
    for node, shopper in (("me", igsid), (account, psid)):  # each channel's shopper at the other's endpoint
        status, answer = await send(node, {"recipient": {"id": shopper}, "messaging_type": "RESPONSE", "message": text})
        assert status == 400 and {k: v for k, v in answer["error"].items() if k != "fbtrace_id"} == no_user
    tagged = await send(account, {"recipient": {"id": igsid}, "messaging_type": "MESSAGE_TAG",
                                  "tag": "POST_PURCHASE_UPDATE", "message": text})
    assert tagged[0] == 400
    flat = {"attachment": {"type": "template", "payload": {"template_type": "notification_messages",
                                                           "title": TITLE, "payload": "p"}}}
    assert (await send(account, {"recipient": {"id": igsid}, "message": flat}))[0] == 400
    wrapped = {"attachment": {"type": "template", "payload": {"template_type": "notification_messages",
                                                              "elements": [{"title": TITLE, "payload": "p"}]}}}
    assert (await send(account, {"recipient": {"id": igsid}, "message": wrapped}))[0] == 200


async def test_a_private_reply_on_an_instagram_live_that_ended_is_refused_by_the_sandbox(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live", "channel": "instagram", "live": True})
    comment = await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": igsid, "message": "hi"})
    await bot.call("POST", f"/sandbox/posts/{post['post_id']}/live", {"status": "vod"})
    resp = await bot.client.post(
        f"/sandbox/graph/{bot.settings.graph_api_version}/{bot.settings.instagram_account_id}/messages",
        json={"recipient": {"comment_id": comment["comment_id"]}, "message": {"text": "thanks"}},
        headers={"Authorization": f"Bearer {bot.settings.page_access_token.reveal()}"})
    assert resp.status == 400 and "live video has ended" in (await resp.json())["error"]["message"]


async def test_instagram_opt_in_limits_refuse_the_6th_of_a_day_and_the_11th_of_a_week_before_any_call(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)

    async def ask(title: str) -> tuple[str, str]:
        job = SendJob(id=f"ig-optin-{title}", purpose="optin_request", psid=f"ig:{igsid}", title=title,
                      topic="daily_reminders", message=payloads.notification_messages_request(title, "p"))
        calls = len(await bot.sent())
        await bot.runtime.outbox.enqueue(job)
        await bot.drain()
        record = await bot.runtime.outbox.record(job.id)
        assert record is not None
        if record.state != "sent":
            assert len(await bot.sent()) == calls  # refused before any call
        return record.state, record.reason

    await bot.says(igsid, "hi")
    await bot.drain()
    assert [await ask(f"day1-{n}") for n in range(5)] == [("sent", "")] * 5
    assert await ask("day1-5") == ("skipped", "frequency")  # the 6th of a day
    await bot.advance(25 * 3600)
    await bot.says(igsid, "hi again")  # the window opens again
    await bot.drain()
    assert [await ask(f"day2-{n}") for n in range(5)] == [("sent", "")] * 5
    await bot.advance(25 * 3600)
    await bot.says(igsid, "still here")
    await bot.drain()
    assert await ask("day3-0") == ("skipped", "frequency")  # the 11th title within 7 days
    await bot.advance(6 * 24 * 3600)
    await bot.says(igsid, "next week")
    await bot.drain()
    assert await ask("day9-0") == ("sent", "")  # the first day's five are over 7 days old
    inbox = await bot.inbox(igsid)
    assert sum("elements" in (m["message"].get("attachment") or {}).get("payload", {}) for m in inbox) == 11


async def test_instagram_opt_in_requests_read_together_still_stop_at_five_a_day(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    await bot.says(igsid, "hi")
    await bot.drain()
    jobs = [SendJob(id=f"ig-batch-{n}", purpose="optin_request", psid=f"ig:{igsid}", title=f"t{n}",
                    topic="daily_reminders", message=payloads.notification_messages_request(f"t{n}", "p"))
            for n in range(7)]
    await bot.runtime.outbox.enqueue_many(jobs)
    await bot.drain()
    records = await bot.runtime.outbox.records([j.id for j in jobs])
    assert sorted(r.state for r in records if r) == ["sent"] * 5 + ["skipped"] * 2


def test_instagram_messaging_items_become_the_messenger_event_types_on_channel_instagram() -> None:
    account, page, ts = "178400000000009", "100000000000009", now_ms()
    items = [
        {"sender": {"id": "77"}, "recipient": {"id": account}, "timestamp": ts,
         "message": {"mid": "m.q", "text": "Yes", "quick_reply": {"payload": "OPTIN_YES"}}},
        {"sender": {"id": "77"}, "recipient": {"id": account}, "timestamp": ts,
         "postback": {"mid": "m.p", "title": "Get Started", "payload": "GET_STARTED"}},
        {"sender": {"id": "77"}, "recipient": {"id": account}, "timestamp": ts, "read": {"mid": "m.sent"}},
        {"sender": {"id": account}, "recipient": {"id": "77"}, "timestamp": ts,
         "message": {"mid": "m.e", "is_echo": True, "text": "hi", "app_id": 1}},
    ]
    parsed, rejected = events_of_body(json.dumps(ig_body(account, *items)).encode(), {account: page})
    assert not rejected
    events = [p.event for p in parsed]
    assert [type(e) for e in events] == [MessageEvent, PostbackEvent, ReadEvent, EchoEvent]
    assert {(e.channel, e.page_id, getattr(e, "psid")) for e in events} == {("instagram", page, "ig:77")}
    assert events[0].quick_reply_payload == "OPTIN_YES"  # type: ignore[attr-defined]
    assert events[2].watermark == ts  # type: ignore[attr-defined]  # messaging_seen has no watermark: its time
    assert {p.ordering_key for p in parsed} == {"u:ig:77"}  # another queue than PSID 77's ("u:77")
    again = RawItem.from_json(parsed[0].payload)
    assert again.channel == "instagram" and parse_item(again) == events[0]  # the queued form keeps the channel
    assert events_of_body(json.dumps(ig_body(account, *items)).encode())[1][0].reason == "unknown_instagram_account"


async def test_an_instagram_opt_in_tap_subscribes_and_a_notification_goes_only_inside_the_window(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    await bot.chat(igsid, "LIVE")
    await bot.call("POST", f"/sandbox/shoppers/{igsid}/optins", {"title": TITLE})
    await bot.drain()
    sub = await bot.runtime.consent.subscription(f"ig:{igsid}", "daily_reminders")
    assert sub is not None and sub.status == "active"
    inside = SendJob(id="ig-live-1", purpose="notification", psid=f"ig:{igsid}", topic="daily_reminders",
                     message={"text": "We are live!"})
    await bot.runtime.outbox.enqueue(inside)
    await bot.drain()
    record = await bot.runtime.outbox.record("ig-live-1")
    assert record is not None and (record.state, record.via) == ("sent", "instagram")
    await bot.advance(25 * 3600)
    calls = len(await bot.sent())
    outside = SendJob(id="ig-live-2", purpose="notification", psid=f"ig:{igsid}", topic="daily_reminders",
                      message={"text": "We are live again!"})
    await bot.runtime.outbox.enqueue(outside)
    await bot.drain()
    record = await bot.runtime.outbox.record("ig-live-2")
    assert record is not None and (record.state, record.reason) == ("skipped", "not_on_instagram")
    assert len(await bot.sent()) == calls
