"""A person answers from the admin API (issue 14, "Handover"): RESPONSE in the window, HUMAN_AGENT within
7 days only when switched on, else 422 and nothing sent; through the outbox; pauses the bot; what the
shopper writes meanwhile is kept and shown (``GET /api/conversations/{psid}``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.graph import payloads
from bot.send_jobs import SendJob
from tests.test_live_sales.conftest import TOKEN, Shop, shop_settings, start_shop

Serve = Callable[..., Awaitable[TestClient[Any, Any]]]
DAY = 24 * 3600
PLUGINS = ["dialogue"]


async def start(serve: Serve, redis: Redis, page_id: str, **overrides: Any) -> Shop:
    return await start_shop(serve, redis, shop_settings(page_id, **overrides), plugins=PLUGINS)


@pytest.fixture
async def shop(serve: Serve, redis: Redis, page_id: str) -> Shop:
    return await start(serve, redis, page_id)


async def chat(shop: Shop, psid: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    """The shopper writes; what they received because of it."""
    before = len(await shop.inbox(psid))
    await shop.call("POST", f"/sandbox/shoppers/{psid}/messages", {"text": text, **extra})
    await shop.runtime.drain()
    return (await shop.inbox(psid))[before:]


async def reply(shop: Shop, psid: str, text: str, status: int = 202, **extra: Any) -> Any:
    return await shop.api("POST", f"/api/conversations/{psid}/replies", {"text": text, **extra}, status=status)


def sent_texts(sent: list[dict[str, Any]]) -> list[str]:
    return [((item.get("request") or {}).get("message") or {}).get("text", "") for item in sent
            if item["api"] == "send"]


async def test_inside_the_window_a_reply_goes_as_a_response_and_pauses_the_bot(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    queued = await reply(shop, psid, "Hi Ana, this is Mia from the shop!")
    assert queued["route"] == "RESPONSE" and queued["queued"] is True
    await shop.runtime.drain()
    got = (await shop.inbox(psid))[-1]
    assert got["message"]["text"] == "Hi Ana, this is Mia from the shop!"
    assert got["messaging_type"] == "RESPONSE" and got["tag"] is None
    assert (await shop.runtime.outbox.record(queued["job_id"])).state == "sent"  # type: ignore[union-attr]
    assert await chat(shop, psid, "LIVE") == []  # the bot stays quiet: a person is answering
    again = await reply(shop, psid, "Hi Ana, this is Mia from the shop!", key="k1")
    assert (await reply(shop, psid, "twice?", key="k1"))["queued"] is False  # one key, one reply
    assert again["queued"] is True


async def test_outside_the_window_the_reply_is_refused_while_the_human_agent_tag_is_off(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await shop.advance(2 * DAY)
    before = await shop.sent()
    refused = await reply(shop, psid, "Sorry for the wait!", status=422)
    message = refused["error"]["message"]
    assert "feature_off" in message and "HUMAN_AGENT_TAG" in message
    await shop.runtime.drain()
    assert await shop.sent() == before  # nothing was sent
    view = await shop.api("GET", f"/api/conversations/{psid}")
    assert view["reply"] == {"allowed": False, "reason": "feature_off", "why": view["reply"]["why"]}
    assert not [m for m in view["messages"] if m["from"] == "agent"]


async def test_within_seven_days_the_reply_goes_with_the_human_agent_tag_and_the_bot_stays_in_its_window(
        serve: Serve, redis: Redis, page_id: str) -> None:
    shop = await start(serve, redis, page_id, human_agent_tag=True)
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await shop.advance(3 * DAY)
    queued = await reply(shop, psid, "Sorry for the wait, your order is on its way.")
    assert queued["route"] == "HUMAN_AGENT"
    await shop.runtime.drain()
    got = (await shop.inbox(psid))[-1]
    assert got["message"]["text"] == "Sorry for the wait, your order is on its way."
    assert got["messaging_type"] == "MESSAGE_TAG" and got["tag"] == "HUMAN_AGENT"
    # the bot's own messages stay bound to 24 h from the shopper's last message, a human reply or not (§4.1)
    await shop.runtime.outbox.enqueue(SendJob(id="bot-after-human", purpose="response", psid=psid,
                                              message=payloads.text("Anything else?")))
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record("bot-after-human")
    assert record is not None and (record.state, record.reason) == ("skipped", "outside_window")


async def test_after_seven_days_no_reply_goes_even_with_the_tag(serve: Serve, redis: Redis, page_id: str) -> None:
    shop = await start(serve, redis, page_id, human_agent_tag=True)
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await shop.advance(7 * DAY + 60)
    refused = await reply(shop, psid, "Still there?", status=422)
    assert "too_old" in refused["error"]["message"] and "7 days" in refused["error"]["message"]
    never = await shop.shopper("Ben")
    assert "too_old" in (await reply(shop, never, "Hi!", status=422))["error"]["message"]
    await shop.runtime.drain()
    assert "Still there?" not in sent_texts(await shop.sent())


async def test_bad_replies_get_a_clear_4xx(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    empty = (await reply(shop, psid, "", status=422))["error"]
    assert (empty["field"], empty["rule"], empty["message"]) == ("text", "minLength", "text must not be empty")
    missing = await shop.api("POST", f"/api/conversations/{psid}/replies", {}, status=422)
    assert missing["error"]["message"] == "text is required"
    too_long = await reply(shop, psid, "x" * 2001, status=422)
    assert "2000" in too_long["error"]["message"]
    await shop.api("POST", "/api/conversations/not%20a%20psid/replies", {"text": "hi"}, status=422)
    await reply(shop, psid, "hi", status=422, key="no spaces allowed")
    resp = await shop.client.post(f"/api/conversations/{psid}/replies", data=b"{nope",
                                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 400
    await shop.api("POST", f"/api/conversations/{psid}/replies", {"text": "hi"}, token="wrong", status=401)
    await shop.runtime.drain()
    assert not [t for t in sent_texts(await shop.sent()) if t in ("", "hi") or t.startswith("xxx")]


async def test_what_the_shopper_writes_during_a_takeover_is_kept_and_shown(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await shop.call("POST", f"/sandbox/shoppers/{psid}/page-messages", {"text": "Hi, Mia here from the shop!"})
    await shop.runtime.drain()
    assert await chat(shop, psid, "is the red dress still there?") == []
    assert await chat(shop, psid, "size M po", standby=True) == []
    await reply(shop, psid, "Yes, we have one M left.")
    await shop.runtime.drain()
    view = await shop.api("GET", f"/api/conversations/{psid}")
    assert [(m["from"], m["text"]) for m in view["messages"]] == [
        ("page_inbox", "Hi, Mia here from the shop!"), ("shopper", "is the red dress still there?"),
        ("shopper", "size M po"), ("agent", "Yes, we have one M left.")]
    assert view["messages"][2]["standby"] is True
    times = [m["at_ms"] for m in view["messages"]]
    assert times == sorted(times)
    assert view["takeover"]["paused"] is True and view["takeover"]["thread_owner"] == "bot"
    assert view["window"]["open"] is True and view["reply"] == {"allowed": True, "route": "RESPONSE"}
    listed = (await shop.api("GET", "/api/conversations"))["conversations"]
    assert [c["psid"] for c in listed] == [psid] and listed[0]["paused"] is True
    await shop.api("GET", "/api/conversations?limit=0", status=422)


async def test_the_log_keeps_the_last_fifty_messages(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await reply(shop, psid, "Hi!")
    for n in range(55):
        await shop.call("POST", f"/sandbox/shoppers/{psid}/messages", {"text": f"message {n}"})
    await shop.runtime.drain()
    messages = (await shop.api("GET", f"/api/conversations/{psid}"))["messages"]
    assert len(messages) == 50 and messages[-1]["text"] == "message 54" and messages[0]["text"] == "message 5"


async def test_done_lets_the_bot_answer_again(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await reply(shop, psid, "Hi!")
    await shop.runtime.drain()
    assert await chat(shop, psid, "LIVE") == []
    done = await shop.api("POST", f"/api/conversations/{psid}/done")
    assert done == {"psid": psid, "thread_taken_back": False}  # the bot never passed this thread
    assert await chat(shop, psid, "LIVE")  # answered again
    assert (await shop.api("GET", f"/api/conversations/{psid}"))["takeover"]["paused"] is False


async def test_the_routes_are_in_the_openapi_document(shop: Shop) -> None:
    paths = (await shop.api("GET", "/api/openapi.json", token=None))["paths"]
    assert set(paths["/api/conversations/{psid}/replies"]) == {"post"}
    assert "422" in paths["/api/conversations/{psid}/replies"]["post"]["responses"]
    for path in ("/api/conversations", "/api/conversations/{psid}", "/api/conversations/{psid}/done"):
        assert path in paths


def test_the_handover_settings_are_read_from_the_environment() -> None:
    from bot.settings import DEFAULT_HANDOVER_TEXT, Settings  # noqa: PLC0415 - this test only

    default = Settings.from_env({})
    assert (default.human_agent_tag, default.handover_on_fallback, default.handover_text) == (
        False, False, DEFAULT_HANDOVER_TEXT)
    given = Settings.from_env({"HUMAN_AGENT_TAG": "true", "HANDOVER_ON_FALLBACK": "1", "HANDOVER_TEXT": "One moment!"})
    assert (given.human_agent_tag, given.handover_on_fallback, given.handover_text) == (True, True, "One moment!")
