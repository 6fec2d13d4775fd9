"""Instagram story replies and story mentions (issue 15): parsed into typed event info, answered by the
dialogue, played by the sandbox (``POST /sandbox/shoppers/{psid}/story-replies`` and ``/story-mentions``).

Everything goes over real HTTP: the sandbox posts the signed ``object: instagram`` webhooks, the bot's
answers go through the sandbox's Graph API; the bot is the sandbox bot with the dialogue plugin.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.events import MessageEvent, StoryRef
from bot.parsing import events_of_body
from dialogue.keys import DialogueKeys
from tests.conftest import SandboxBot
from tests.support.webhooks import now_ms
from tests.test_bot.test_instagram import counters, ig_body, ig_shopper, post_webhook
from tests.test_dialogue.test_dialogue import start_bot

Serve = Callable[..., Awaitable[TestClient]]
THANKS = "Thank you so much for the mention!"


@pytest.fixture
async def bot(serve: Serve, redis: Redis, page_id: str) -> SandboxBot:
    return await start_bot(serve, redis, page_id)


def from_igsid(account: str, igsid: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"sender": {"id": igsid}, "recipient": {"id": account}, "timestamp": now_ms(), "message": message}


def test_a_story_reply_and_a_story_mention_parse_into_typed_event_info() -> None:
    account, page = "178400000000011", "100000000000011"
    reply = {"mid": "m.sr", "text": "LIVE", "reply_to": {"story": {"id": "1790001", "url": "https://cdn/s.jpg"}}}
    mention = {"mid": "m.sm", "attachments": [{"type": "story_mention", "payload": {"url": "https://cdn/m.mp4"}}]}
    plain = {"mid": "m.pl", "text": "hi", "reply_to": {"mid": "m.earlier"}}
    body = ig_body(account, *(from_igsid(account, "91", m) for m in (reply, mention, plain)))
    parsed, rejected = events_of_body(json.dumps(body).encode(), {account: page})
    assert not rejected
    events = [p.event for p in parsed]
    assert all(isinstance(e, MessageEvent) for e in events)
    first, second, third = events
    assert isinstance(first, MessageEvent) and isinstance(second, MessageEvent) and isinstance(third, MessageEvent)
    assert first.story_reply == StoryRef("1790001", "https://cdn/s.jpg") and first.text == "LIVE"
    assert first.story_mention is None
    assert second.story_reply is None and second.story_mention is not None
    assert second.story_mention.url == "https://cdn/m.mp4"
    assert third.story_reply is None and third.story_mention is None and third.reply_to_mid == "m.earlier"


async def test_a_story_reply_saying_live_gets_the_opt_in_card(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    before = len(await bot.inbox(igsid))
    posted = await bot.call("POST", f"/sandbox/shoppers/{igsid}/story-replies", {"text": "LIVE", "story_id": "17900"})
    assert posted["webhook_status"] == 200 and posted["story_id"] == "17900"
    await bot.drain()
    got = (await bot.inbox(igsid))[before:]
    cards = [m for m in got if (m["message"].get("attachment") or {}).get("payload", {}).get("template_type")
             == "notification_messages"]
    assert len(cards) == 1 and all(m["via"] == "instagram" for m in got), got
    # the story reply is a message: it opened the shopper's window
    assert await bot.runtime.redis.hget(bot.runtime.keys.window, f"ig:{igsid}") is not None


async def test_a_story_mention_gets_a_short_thank_you_inside_the_window_it_opens(bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    posted = await bot.call("POST", f"/sandbox/shoppers/{igsid}/story-mentions", {})
    assert posted["webhook_status"] == 200 and posted["url"]
    await bot.drain()
    got = await bot.inbox(igsid)
    assert [t for t in bot.texts(got) if t.startswith(THANKS)] == [f"{THANKS} 💛 Reply LIVE here to get a reminder "
                                                                  "before our next live sale."], got
    assert len(got) == 1 and got[0]["via"] == "instagram"  # not the fallback answer as well
    assert await bot.runtime.redis.hget(bot.runtime.keys.window, f"ig:{igsid}") is not None
    # a thank-you, not a question for a person: the fallback's flag is not raised
    assert await bot.runtime.redis.zscore(DialogueKeys.of(bot.runtime.keys).needs_human, f"ig:{igsid}") is None


async def test_stories_are_instagram_s_a_messenger_shopper_s_call_is_409(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await bot.call("POST", f"/sandbox/shoppers/{psid}/story-replies", {"text": "LIVE"}, status=409)
    await bot.call("POST", f"/sandbox/shoppers/{psid}/story-mentions", {}, status=409)
    igsid = await ig_shopper(bot)
    await bot.call("POST", f"/sandbox/shoppers/{igsid}/story-replies", {}, status=400)  # no text
    await bot.call("POST", f"/sandbox/shoppers/{igsid}/story-replies", {"text": "x", "story_id": 5}, status=400)


async def test_a_malformed_story_reply_or_mention_is_rejected_with_its_reason_and_the_next_event_is_handled(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    await bot.chat(igsid, "hi")  # the sandbox knows their window open: the canary's answer may go
    account = bot.settings.instagram_account_id
    bad = [{"mid": "m.bad1", "text": "LIVE", "reply_to": {"story": "not an object"}},
           {"mid": "m.bad2", "text": "LIVE", "reply_to": {"story": {"url": "https://cdn/no-id.jpg"}}},
           {"mid": "m.bad3", "attachments": [{"type": "story_mention", "payload": {}}]},
           {"mid": "m.bad4", "attachments": [{"type": "story_mention"}]}]
    canary = {"mid": "m.canary", "text": "LIVE"}
    body = ig_body(account, *(from_igsid(account, igsid, m) for m in [*bad, canary]))
    assert await post_webhook(bot, body) == 200
    await bot.drain()
    seen = await counters(bot)
    assert seen.get("events_rejected_total|missing_field") == 4, seen
    assert seen.get("events_total|message") == 2, seen  # "hi", then the canary
    inbox = await bot.inbox(igsid)
    assert [m for m in inbox if "elements" in (m["message"].get("attachment") or {}).get("payload", {})], inbox
