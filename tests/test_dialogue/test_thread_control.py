"""Thread control with the Page Inbox through the sandbox (messenger-platform.md §2.11; issue 14, "Handover"):
a shopper asking for a person, or the fallback (HANDOVER_ON_FALLBACK), passes the thread after the bot says a
person will answer; the bot takes it back when the agent is done or the pause ends; the sandbox models
pass/take/request, standby delivery and 2018300."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from bot.graph import payloads
from bot.outbox import day_of
from bot.send_jobs import SendJob
from bot.settings import DEFAULT_HANDOVER_TEXT
from dialogue import Dialogue
from dialogue.person_request import asks_for_person
from tests.test_dialogue.test_agent_replies import Serve, chat, reply, start
from tests.test_live_sales.conftest import Shop

PAGE_INBOX = 263902037430900


@pytest.fixture
async def shop(serve: Serve, redis: Redis, page_id: str) -> Shop:
    return await start(serve, redis, page_id)


def handover_calls(sent: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(item["path"].split("?")[0].rsplit("/", 1)[-1], item["request"]) for item in sent
            if item["api"] == "handover" and item.get("status") == 200]


async def owner(shop: Shop, psid: str) -> str:
    return str((await shop.call("GET", f"/sandbox/shoppers/{psid}"))["thread_owner"])


def dialogue(shop: Shop) -> Dialogue:
    found = shop.runtime.context["dialogue"]
    assert isinstance(found, Dialogue)
    return found


async def test_asking_for_a_person_tells_the_shopper_then_passes_the_thread(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hi")
    got = await chat(shop, psid, "Can I talk to a real person?")
    assert [m["message"].get("text") for m in got] == [DEFAULT_HANDOVER_TEXT]
    sent = await shop.sent()
    calls = handover_calls(sent)
    assert calls == [("pass_thread_control", {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX,
                                              "metadata": "asked_for_person"})]
    told = max(i for i, item in enumerate(sent) if item["api"] == "send")
    passed = next(i for i, item in enumerate(sent) if item["api"] == "handover")
    assert told < passed  # the message first: sent after the pass it would fail with 2018300
    assert await owner(shop, psid) == "page_inbox"
    numbers = await shop.runtime.outbox.numbers(day=day_of(await shop.runtime.clock.now_ms()))
    assert numbers["sent"] == 2 and numbers["thread_control|sent"] == 1  # a pass is not a message sent
    view = await shop.api("GET", f"/api/conversations/{psid}")
    assert view["takeover"]["thread_owner"] == "page_inbox" and view["takeover"]["paused"] is True
    assert view["takeover"]["needs_human_since_ms"] is not None
    # while the Page Inbox owns the thread the shopper's messages come on standby: kept, never answered
    assert await chat(shop, psid, "hello? anyone?") == []
    await shop.call("POST", f"/sandbox/shoppers/{psid}/postbacks", {"payload": "NEXT_LIVE", "title": "Next live?"})
    await shop.runtime.drain()
    kept = (await shop.api("GET", f"/api/conversations/{psid}"))["messages"]
    assert [(m["from"], m["text"]) for m in kept] == [
        ("shopper", "Can I talk to a real person?"), ("bot", DEFAULT_HANDOVER_TEXT),
        ("shopper", "hello? anyone?"), ("shopper", "[tapped] Next live?")]
    assert kept[-1]["standby"] is True and kept[-2]["standby"] is True
    assert [m["message"].get("text") for m in await shop.inbox(psid)][-1] == DEFAULT_HANDOVER_TEXT  # no answer


async def test_a_send_into_a_thread_the_page_inbox_owns_fails_with_2018300(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "talk to a human please")
    await shop.runtime.outbox.enqueue(SendJob(id="into-their-thread", purpose="response", psid=psid,
                                              message=payloads.text("Psst")))
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record("into-their-thread")
    assert record is not None and (record.state, record.reason) == ("failed", "thread_controlled")
    answer = [i for i in await shop.sent() if (i.get("request") or {}).get("message", {}).get("metadata")
              == "into-their-thread"][0]["answer"]
    assert answer["error"]["code"] == 10 and answer["error"]["error_subcode"] == 2018300


async def test_done_takes_the_thread_back_and_the_bot_answers_again(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "I want to speak with an agent")
    assert await chat(shop, psid, "my order C-3 never came") == []
    done = await shop.api("POST", f"/api/conversations/{psid}/done")
    assert done["thread_taken_back"] is True
    await shop.runtime.drain()
    assert [name for name, _ in handover_calls(await shop.sent())] == ["pass_thread_control", "take_thread_control"]
    take = handover_calls(await shop.sent())[-1][1]
    assert take == {"recipient": {"id": psid}, "metadata": "agent_done"}
    assert await owner(shop, psid) == "bot"
    assert await chat(shop, psid, "LIVE")  # answered again


async def test_an_agent_reply_takes_a_passed_thread_back_first(shop: Shop) -> None:
    """Our app sends the desk's reply: a thread passed to the Page Inbox is taken back before it (else 2018300);
    the bot stays paused, and what the shopper writes next is kept, not answered."""
    psid = await shop.shopper()
    await chat(shop, psid, "connect me to a human")
    queued = await reply(shop, psid, "Hi, Mia here. How can I help?")
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(queued["job_id"])
    assert record is not None and record.state == "sent"
    assert (await shop.inbox(psid))[-1]["message"]["text"] == "Hi, Mia here. How can I help?"
    assert [n for n, _ in handover_calls(await shop.sent())] == ["pass_thread_control", "take_thread_control"]
    assert await owner(shop, psid) == "bot"
    assert await chat(shop, psid, "LIVE") == []  # still paused: a person is answering
    kept = (await shop.api("GET", f"/api/conversations/{psid}"))["messages"]
    assert [(m["from"], m["text"]) for m in kept][-2:] == [("agent", "Hi, Mia here. How can I help?"),
                                                           ("shopper", "LIVE")]
    assert (await shop.api("POST", f"/api/conversations/{psid}/done"))["thread_taken_back"] is False


async def test_the_pause_ending_takes_the_thread_back(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "human please")
    assert await owner(shop, psid) == "page_inbox"
    assert await dialogue(shop).handover.sweep() == 0  # still paused
    await shop.advance(31 * 60)
    assert await dialogue(shop).handover.sweep() == 1
    await shop.runtime.drain()
    assert handover_calls(await shop.sent())[-1] == ("take_thread_control", {"recipient": {"id": psid},
                                                                            "metadata": "pause_ended"})
    assert await owner(shop, psid) == "bot"
    assert await chat(shop, psid, "LIVE")


async def test_the_page_inbox_passing_back_ends_the_takeover(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "can I talk to someone from the shop")
    assert await owner(shop, psid) == "page_inbox"
    await shop.call("POST", f"/sandbox/shoppers/{psid}/thread-control", {"action": "pass", "metadata": "done"})
    await shop.runtime.drain()
    view = await shop.api("GET", f"/api/conversations/{psid}")
    assert view["takeover"]["thread_owner"] == "bot" and view["takeover"]["paused"] is False
    assert await chat(shop, psid, "LIVE")


async def test_the_page_inbox_taking_or_requesting_the_thread(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hi")
    await shop.call("POST", f"/sandbox/shoppers/{psid}/thread-control", {"action": "take"})
    await shop.runtime.drain()
    assert (await shop.api("GET", f"/api/conversations/{psid}"))["takeover"]["thread_owner"] == "page_inbox"
    assert await chat(shop, psid, "LIVE") == []  # standby: not answered
    await shop.call("POST", f"/sandbox/shoppers/{psid}/thread-control", {"action": "take"}, status=409)
    other = await shop.shopper("Ben")
    await chat(shop, other, "hi")
    await shop.call("POST", f"/sandbox/shoppers/{other}/thread-control", {"action": "request"})
    await shop.runtime.drain()
    assert handover_calls(await shop.sent())[-1] == ("pass_thread_control", {
        "recipient": {"id": other}, "target_app_id": PAGE_INBOX, "metadata": "request"})
    assert await owner(shop, other) == "page_inbox"


async def test_the_fallback_passes_the_thread_only_when_configured(serve: Serve, redis: Redis, page_id: str) -> None:
    shop = await start(serve, redis, page_id)
    psid = await shop.shopper()
    assert await chat(shop, psid, "my parcel arrived wet")  # the fallback answer
    assert handover_calls(await shop.sent()) == []
    kept = (await shop.api("GET", f"/api/conversations/{psid}"))["messages"]
    assert [(m["from"], m["text"]) for m in kept] == [("shopper", "my parcel arrived wet")]  # for the person
    on = await start(serve, redis, page_id + "1", handover_on_fallback=True)
    psid = await on.shopper()
    got = await chat(on, psid, "my parcel arrived wet")
    assert len(got) == 1  # the fallback text already says someone will reply
    assert [(n, r["metadata"]) for n, r in handover_calls(await on.sent())] == [("pass_thread_control", "fallback")]
    assert await owner(on, psid) == "page_inbox"


async def test_the_sandbox_refuses_thread_control_the_app_may_not_take(shop: Shop) -> None:
    psid = await shop.shopper()
    await chat(shop, psid, "hi")
    graph = f"/sandbox/graph/{shop.settings.graph_api_version}/me"
    headers = {"Authorization": f"Bearer {shop.settings.page_access_token.reveal()}"}

    async def call(edge: str, body: dict[str, Any]) -> tuple[int, Any]:
        resp = await shop.client.post(f"{graph}/{edge}", json=body, headers=headers)
        return resp.status, await resp.json()

    status, answer = await call("pass_thread_control", {"recipient": {"id": psid}, "target_app_id": 42})
    assert status == 400 and answer["error"]["code"] == 100
    status, answer = await call("request_thread_control", {"recipient": {"id": psid}})
    assert status == 400 and answer["error"]["code"] == 100  # we own it already
    status, _ = await call("pass_thread_control", {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX})
    assert status == 200
    status, answer = await call("pass_thread_control", {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX})
    assert status == 400 and answer["error"]["error_subcode"] == 2018300  # no longer the owner
    status, _ = await call("request_thread_control", {"recipient": {"id": psid}, "metadata": "may I?"})
    assert status == 200 and (await shop.call("GET", f"/sandbox/shoppers/{psid}"))["thread_requested"] is True
    status, _ = await call("take_thread_control", {"recipient": {"id": psid}})
    assert status == 200 and await owner(shop, psid) == "bot"
    status, answer = await call("take_thread_control", {"recipient": {"id": "nobody"}})
    assert status == 400 and answer["error"]["error_subcode"] == 2018001
    resp = await shop.client.post(f"{graph}/take_thread_control", json={"recipient": {"id": psid}})
    assert resp.status in (400, 401) and (await resp.json())["error"]["code"] == 190  # no token


def test_requests_for_a_person_are_told_from_questions_about_the_bot() -> None:
    for asked in ("Can I talk to a real person?", "human please", "connect me to an agent", "I want to talk to "
                  "the owner", "is there a human I can talk to?", "pwede po makausap ang admin",
                  "quiero hablar con una persona", "mau bicara dengan admin", "cho mình gặp nhân viên"):
        assert asks_for_person(asked), asked
    for other in ("are you a real person?", "do you have a live chat agent?", "hi", "LIVE", "is it available?",
                  "someone bought my size already?", "tell the team thanks"):
        assert not asks_for_person(other), other


async def test_an_unsendable_handover_text_still_hands_over(serve: Serve, redis: Redis, page_id: str) -> None:
    shop = await start(serve, redis, page_id, handover_text="x" * 2001)
    psid = await shop.shopper()
    assert await chat(shop, psid, "talk to a person") == []  # nothing Messenger would refuse is sent
    assert [n for n, _ in handover_calls(await shop.sent())] == ["pass_thread_control"]
