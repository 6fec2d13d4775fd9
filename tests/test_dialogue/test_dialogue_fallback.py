"""A message with no intent, end to end: the fallback answer, the flag for a person, its limits."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.settings import DEFAULT_FALLBACK_TEXT
from tests.conftest import SandboxBot
from tests.test_dialogue.test_dialogue import Serve, bot, chat, start_bot, texts  # noqa: F401

NO_INTENT = "how much is the red dress?"


async def admin(bot: SandboxBot, method: str, path: str, status: int = 200) -> Any:
    auth = {"Authorization": f"Bearer {bot.settings.admin_token.reveal()}"}
    resp = await bot.client.request(method, path, headers=auth)
    body = await resp.json()
    assert resp.status == status, (resp.status, body)
    return body


async def waiting(bot: SandboxBot) -> dict[str, int]:
    body = await admin(bot, "GET", "/api/needs-human")
    assert body["count"] == len(body["conversations"])
    return {c["psid"]: c["since_ms"] for c in body["conversations"]}


async def test_no_intent_gets_the_fallback_and_is_flagged_for_a_person(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    before = await bot.runtime.clock.now_ms()
    got = await chat(bot, psid, NO_INTENT)
    assert texts(got) == [DEFAULT_FALLBACK_TEXT]
    since = (await waiting(bot))[psid]
    assert before <= since <= await bot.runtime.clock.now_ms()


async def test_once_per_shopper_per_quiet_period(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, NO_INTENT)
    since = (await waiting(bot))[psid]
    assert await chat(bot, psid, "magkano po?") == []  # inside the quiet period: nothing more
    await bot.advance(bot.settings.fallback_quiet_hours * 3600 + 60)
    assert texts(await chat(bot, psid, "thanks")) == [DEFAULT_FALLBACK_TEXT]
    assert (await waiting(bot))[psid] == since  # still waiting since the first one
    other = await bot.shopper("Ben")
    assert texts(await chat(bot, other, NO_INTENT)) == [DEFAULT_FALLBACK_TEXT]  # per shopper


async def test_never_during_a_human_takeover_and_a_human_reply_resolves_it(bot: SandboxBot) -> None:
    taken = await bot.shopper()
    await bot.call("POST", f"/sandbox/shoppers/{taken}/page-messages", {"text": "Hi, Ana from the shop here"})
    await bot.runtime.drain()
    assert await chat(bot, taken, NO_INTENT) == []
    assert taken not in await waiting(bot)

    flagged = await bot.shopper("Ben")
    await chat(bot, flagged, NO_INTENT)
    assert flagged in await waiting(bot)
    await bot.call("POST", f"/sandbox/shoppers/{flagged}/page-messages", {"text": "It's 450 pesos!"})
    await bot.runtime.drain()
    assert flagged not in await waiting(bot)


async def test_messages_with_an_intent_are_not_flagged(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    for text in ("LIVE", "hi", "when is the next live?", "I live in Cebu, when's the next live?"):
        assert DEFAULT_FALLBACK_TEXT not in texts(await chat(bot, psid, text)), text
    assert psid not in await waiting(bot)


async def test_the_answer_and_quiet_period_are_settings(serve: Serve, redis: Redis, page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id, fallback_text="Our team replies within the hour 💬",
                          fallback_quiet_hours=0)
    psid = await bot.shopper()
    for text in (NO_INTENT, "thanks"):
        assert texts(await chat(bot, psid, text)) == ["Our team replies within the hour 💬"]


async def test_fallback_text_none_flags_without_answering(serve: Serve, redis: Redis, page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id, fallback_text="none")
    psid = await bot.shopper()
    assert await chat(bot, psid, NO_INTENT) == []
    assert psid in await waiting(bot)


async def test_admin_api_resolves_a_waiting_conversation(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, NO_INTENT)
    assert await admin(bot, "DELETE", f"/api/needs-human/{psid}") == {"psid": psid}
    assert psid not in await waiting(bot)
    await admin(bot, "DELETE", f"/api/needs-human/{psid}", status=404)
    await admin(bot, "GET", "/api/needs-human?limit=0", status=422)
    spec = await admin(bot, "GET", "/api/openapi.json")
    assert "/api/needs-human" in spec["paths"] and "/api/needs-human/{psid}" in spec["paths"]
