"""Dialogue flows end to end: sandbox shopper -> webhook -> dialogue -> outbox -> sandbox inbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.outbox import day_of
from bot.runtime import Runtime
from dialogue import Dialogue
from dialogue.kit import GET_STARTED, OPTIN_YES, STOP_REMINDERS
from tests.conftest import SandboxBot, sandbox_settings
from tests.support.redis_server import free_port

Serve = Callable[..., Awaitable[TestClient]]
TITLE = "Get daily reminders"
TOPIC = "daily_reminders"
PLUGIN = "dialogue"


async def start_bot(serve: Serve, redis: Redis, page_id: str, **overrides: Any) -> SandboxBot:
    """The sandbox bot with the dialogue plugin loaded (routes mounted, engine set up)."""
    port = free_port()
    settings = sandbox_settings(page_id, port, **overrides)
    runtime = Runtime(settings, redis)
    app = create_app(settings, redis, runtime=runtime, plugins=[PLUGIN], run_workers=False)
    return SandboxBot(await serve(app, port=port), runtime, settings)


@pytest.fixture
async def bot(serve: Serve, redis: Redis, page_id: str) -> SandboxBot:
    return await start_bot(serve, redis, page_id)


def kind(entry: dict[str, Any]) -> str:
    """What a shopper sees: the template type, or 'text'."""
    attachment = entry["message"].get("attachment")
    return attachment["payload"].get("template_type", attachment["type"]) if attachment else "text"


def texts(inbox: list[dict[str, Any]]) -> list[str]:
    return [m["message"].get("text", "") for m in inbox if kind(m) == "text"]


def cards(inbox: list[dict[str, Any]], template: str = "notification_messages") -> list[dict[str, Any]]:
    return [m["message"]["attachment"]["payload"] for m in inbox if kind(m) == template]


async def chat(bot: SandboxBot, psid: str, text: str | None = None, **extra: Any) -> list[dict[str, Any]]:
    """The shopper sends a message; returns what they received because of it."""
    before = len(await bot.inbox(psid))
    body = {"text": text, **extra} if text is not None else extra
    await bot.call("POST", f"/sandbox/shoppers/{psid}/messages", body)
    await bot.runtime.drain()
    return (await bot.inbox(psid))[before:]


async def tap(bot: SandboxBot, psid: str, payload: str | None = None, title: str = "tap") -> list[dict[str, Any]]:
    before = len(await bot.inbox(psid))
    body = {"payload": payload, "title": title} if payload else {}
    await bot.call("POST", f"/sandbox/shoppers/{psid}/postbacks", body)
    await bot.runtime.drain()
    return (await bot.inbox(psid))[before:]


async def opt_in(bot: SandboxBot, psid: str, title: str = TITLE) -> list[dict[str, Any]]:
    before = len(await bot.inbox(psid))
    await bot.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": title})
    await bot.runtime.drain()
    return (await bot.inbox(psid))[before:]


def dialogue(bot: SandboxBot) -> Dialogue:
    return bot.runtime.context["dialogue"]  # type: ignore[no-any-return]


async def test_get_started_welcomes_then_asks_and_confirms_the_opt_in(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    got = await tap(bot, psid, GET_STARTED, "Get Started")
    assert any("welcome" in t.lower() for t in texts(got))
    assert [c["title"] for c in cards(got)] == [TITLE]
    assert await dialogue(bot).followups.due_at(psid) is not None  # no opt-in yet
    confirmation = await opt_in(bot, psid)
    sub = await bot.runtime.consent.subscription(psid, TOPIC)
    assert sub is not None and sub.status == "active"
    assert any("subscribed" in t for t in texts(confirmation))
    assert await dialogue(bot).followups.due_at(psid) is None  # opted in: no follow-up


async def test_keyword_gets_the_card_once_then_already_subscribed(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    assert [c["title"] for c in cards(await chat(bot, psid, "LIVE po 🔴"))] == [TITLE]
    await opt_in(bot, psid)
    again = await chat(bot, psid, "liveee")
    assert not cards(again) and any("subscribed to" in t for t in texts(again))


async def test_weekly_limit_says_when_it_can_ask_again(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    assert cards(await chat(bot, psid, "remind me when you go live"))
    second = await chat(bot, psid, "LIVE")
    assert not cards(second)
    assert any("once a week" in t and "from" in t for t in texts(second)), texts(second)
    await bot.advance(7 * 24 * 3600 + 60)
    assert cards(await chat(bot, psid, "LIVE"))  # a week later it may be asked again
    assert len(cards(await bot.inbox(psid))) == 2


@pytest.mark.parametrize("text", [
    "I live in Cebu", "why is everyone commenting LIVE? 😅", "that live was fun yesterday", "Olive color available?",
    "remind me my total pls", "live chat agent please", "mine 23",
])
async def test_traps_do_not_opt_anyone_in(bot: SandboxBot, text: str) -> None:
    psid = await bot.shopper()
    assert not cards(await chat(bot, psid, text))
    post = await bot.call("POST", "/sandbox/posts", {"message": "New stock!", "live": True})
    await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": psid, "message": text})
    await bot.runtime.drain()
    assert not [m for m in await bot.inbox(psid) if m["via"] == "comment"]


@pytest.mark.parametrize("text", ["stop", "don't remind me", "pa-unsubscribe na po", "STOP LIVE"])
async def test_opt_out_in_chat_is_immediate_and_explained(bot: SandboxBot, text: str) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    await opt_in(bot, psid)
    got = await chat(bot, psid, text)
    consent = await bot.runtime.consent.consent(psid, TOPIC)
    assert consent.opted_out and consent.status == "opted_out"
    assert any("Stop these messages" in t for t in texts(got))
    assert await dialogue(bot).followups.due_at(psid) is None
    assert not cards(await chat(bot, psid, "hi"))  # no offer pushed at someone who said stop


async def test_stop_reminders_menu_entry_opts_out(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await tap(bot, psid, STOP_REMINDERS, "Stop reminders")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).opted_out
    assert cards(await chat(bot, psid, "LIVE"))  # asking again explicitly still gets the card


async def test_stop_and_resume_in_messenger(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    await opt_in(bot, psid)
    before = len(await bot.inbox(psid))
    await bot.call("POST", f"/sandbox/shoppers/{psid}/notifications", {"title": TITLE, "action": "stop"})
    await bot.runtime.drain()
    assert (await bot.runtime.consent.subscription(psid, TOPIC)).status == "stopped"  # type: ignore[union-attr]
    assert len(await bot.inbox(psid)) == before  # nothing said on STOP
    await bot.call("POST", f"/sandbox/shoppers/{psid}/notifications", {"title": TITLE, "action": "resume"})
    await bot.runtime.drain()
    assert (await bot.runtime.consent.subscription(psid, TOPIC)).status == "active"  # type: ignore[union-attr]
    assert any("subscribed" in t for t in texts((await bot.inbox(psid))[before:]))


async def test_no_confirmation_outside_the_window(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    await bot.advance(25 * 3600)
    assert await opt_in(bot, psid) == []  # opting in does not open the window
    assert (await bot.runtime.consent.subscription(psid, TOPIC)) is not None
    numbers = await bot.runtime.outbox.numbers(day=day_of(await bot.runtime.clock.now_ms()))
    assert not any(k.startswith("skipped") for k in numbers), numbers  # nothing queued just to be skipped


async def test_comment_keyword_gets_one_private_reply_then_the_card(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live now!", "live": True})
    await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE po"})
    await bot.runtime.drain()
    replies = await bot.inbox(psid)
    assert [m["via"] for m in replies] == ["comment"]
    assert [q["payload"] for q in replies[0]["message"]["quick_replies"]] == [OPTIN_YES]
    shopper = await bot.call("GET", f"/sandbox/shoppers/{psid}")
    assert not shopper["window_open"]  # the private reply opened nothing
    got = await chat(bot, psid, quick_reply={"payload": OPTIN_YES})
    assert [c["title"] for c in cards(got)] == [TITLE]


async def test_back_in_stock_asks_for_a_one_time_notification(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    got = await chat(bot, psid, "notify me when size M is back")
    assert [c["title"] for c in cards(got, "one_time_notif_req")] == ["Back in stock: size M"]
    confirmation = await opt_in(bot, psid, "Back in stock: size M")
    assert (await bot.runtime.consent.consent(psid, "restock:size-m")).otn_tokens == 1
    assert any("as soon as it's back" in t for t in texts(confirmation))


async def test_asking_again_for_the_same_product_within_a_week_says_they_are_on_the_list(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    assert cards(await chat(bot, psid, "notify me when size M is back"), "one_time_notif_req")
    again = await chat(bot, psid, "pls notify me when size M is back")
    assert not cards(again, "one_time_notif_req")  # Messenger would refuse the same request twice
    assert any("already on the list for the size M" in t for t in texts(again))
    assert cards(await chat(bot, psid, "notify me when the blue tote is back"), "one_time_notif_req")  # another
    await bot.advance(7 * 24 * 3600 + 60)
    assert cards(await chat(bot, psid, "notify me when size M is back"), "one_time_notif_req")  # a week later


async def test_back_in_stock_without_otn_says_so(serve: Serve, redis: Redis, page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id, otn_enabled=False)
    psid = await bot.shopper()
    got = await chat(bot, psid, "notify me when size M is back")
    assert not cards(got, "one_time_notif_req") and any("restock" in t for t in texts(got))


async def test_a_human_in_the_inbox_pauses_the_bot(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "hello?")
    await bot.call("POST", f"/sandbox/shoppers/{psid}/page-messages", {"text": "Hi, Ana here from the shop!"})
    await bot.runtime.drain()
    assert await chat(bot, psid, "LIVE") == []
    await bot.advance(20 * 60)
    await bot.call("POST", f"/sandbox/shoppers/{psid}/page-messages", {"text": "Anything else?"})  # extends
    await bot.runtime.drain()
    await bot.advance(20 * 60)
    assert await chat(bot, psid, "LIVE") == []
    await bot.advance(11 * 60)
    assert cards(await chat(bot, psid, "LIVE"))


async def test_standby_is_never_answered_and_pauses(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    assert await chat(bot, psid, "LIVE", standby=True) == []
    assert await chat(bot, psid, "LIVE") == []  # paused by the standby event
    await bot.advance(31 * 60)
    assert cards(await chat(bot, psid, "LIVE"))
    assert await chat(bot, psid, "stop", standby=True) == []
    assert (await bot.runtime.consent.consent(psid, TOPIC)).opted_out  # a stop counts, even on standby


async def test_our_own_echoes_do_not_pause(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    mid = (await bot.says(psid, "hi"))["mid"]
    echo = bot.runtime.keys.echo_seen(f"dlg:mid:{mid}:0")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    await bot.runtime.drain()
    while not await bot.runtime.redis.exists(echo):  # the sandbox echoes our reply with our app id
        assert loop.time() < deadline, "no echo of our reply arrived"
        await asyncio.sleep(0.05)
        await bot.runtime.drain()
    assert not await dialogue(bot).takeover.is_paused(psid, await bot.runtime.clock.now_ms())
    assert await chat(bot, psid, "LIVE")


async def test_asking_again_after_a_local_opt_out_turns_reminders_back_on(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    await opt_in(bot, psid)
    await chat(bot, psid, "stop")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).status == "opted_out"
    got = await chat(bot, psid, "LIVE po")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).status == "active"
    assert not cards(got) and any("subscribed to" in t for t in texts(got))


async def test_no_marketing_token_travels_in_metadata_or_key_names(bot: SandboxBot, redis: Redis) -> None:
    """Issue 14: the opt-in confirmation's job id (its Send API ``metadata``, echoed back by Meta) was
    built from the opt-in event's dedupe key, which held the marketing token; so were the echo keys."""
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    confirmation = await opt_in(bot, psid)
    assert texts(confirmation)  # the confirmation went out
    subscription = (await bot.runtime.consent.consent(psid, TOPIC)).subscription
    assert subscription is not None and len(subscription.token) > 8
    sent = [item["request"]["message"] for item in await bot.sent() if "message" in (item.get("request") or {})]
    assert any("metadata" in m for m in sent)
    for message in sent:  # the token goes only where Meta asks for it (a marketing send's recipient)
        assert subscription.token not in json.dumps(message), message
    await bot.runtime.drain()  # the echoes of what was sent come back and are remembered
    names = [k.decode() if isinstance(k, bytes) else k
             async for k in redis.scan_iter(match=bot.runtime.keys.prefix + "*", count=1000)]
    ours = [n for n in names if not n.startswith(bot.runtime.keys.prefix + "sandbox:")]  # Meta's own records
    assert ours and not [n for n in ours if subscription.token in n]


async def test_the_keyword_five_times_under_one_post_gets_one_private_reply(bot: SandboxBot) -> None:
    """Issue 14: "LIVE" five times under one post sent five identical DMs. One per shopper per post per
    day now; the others are counted as skipped (already_replied); another post gets its own reply."""
    psid = await bot.shopper()
    post = await bot.call("POST", "/sandbox/posts", {"message": "Sale tonight", "live": False})
    other = await bot.call("POST", "/sandbox/posts", {"message": "And tomorrow", "live": False})
    for _ in range(5):
        await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    await bot.call("POST", f"/sandbox/posts/{other['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    await bot.runtime.drain()
    assert len(await bot.inbox(psid)) == 2
    numbers = await bot.runtime.outbox.numbers(day=day_of(await bot.runtime.clock.now_ms()))
    assert numbers.get("skipped|already_replied") == 4, numbers
    await bot.advance(24 * 3600)  # the next day, the same post answers again
    await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    await bot.runtime.drain()
    assert len(await bot.inbox(psid)) == 3
