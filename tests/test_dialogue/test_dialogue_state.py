"""Dialogue state: the tracker in Redis, ordering across processes, idempotent turns, the message adapter."""

from __future__ import annotations

import asyncio
import json

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.events import MessageEvent
from bot.graph import payloads
from bot.runtime import Runtime
from dialogue.keys import DialogueKeys
from dialogue.messages import to_replies
from dialogue.tracker_store import MAX_EVENTS
from tests.conftest import SandboxBot
from tests.test_dialogue.test_dialogue import PLUGIN, TOPIC, bot, cards, dialogue, kind, texts  # noqa: F401


async def stored(bot: SandboxBot, psid: str) -> dict:  # type: ignore[type-arg]
    return json.loads(await bot.runtime.redis.get(DialogueKeys.of(bot.runtime.keys).tracker(psid)))  # type: ignore[no-any-return]


async def test_two_processes_racing_on_one_shopper_answer_in_order_once(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    said = ["hi", "LIVE", "ok", "stop", "LIVE po"]
    for text in said:
        await bot.says(psid, text)
    other = Runtime(bot.settings, bot.runtime.redis)
    await other.load_plugins([PLUGIN])
    try:
        await asyncio.gather(bot.runtime.drain(), other.drain(), bot.runtime.drain())
    finally:
        await other.stop()
    state = await stored(bot, psid)
    assert [e["text"] for e in state["events"] if e["event"] == "user"] == said
    inbox = await bot.inbox(psid)
    assert len(cards(inbox)) == 1  # "LIVE" after "stop" falls in the same week
    assert sum("Stop these messages" in t for t in texts(inbox)) == 1
    assert (await bot.runtime.consent.consent(psid, TOPIC)).opted_out


async def test_a_retried_turn_queues_nothing_twice(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await bot.says(psid, "hello")
    await bot.runtime.drain()
    now = await bot.runtime.clock.now_ms()
    event = MessageEvent(page_id=bot.settings.page_id, timestamp=now, raw={}, psid=psid, mid="m_retry", text="LIVE")
    await dialogue(bot).on_chat(event)
    await dialogue(bot).on_chat(event)  # redelivered after it was handled
    await bot.runtime.redis.delete(DialogueKeys.of(bot.runtime.keys).tracker(psid))  # crashed before saving: handled again
    await dialogue(bot).on_chat(event)
    await bot.runtime.drain()
    assert len(cards(await bot.inbox(psid))) == 1
    record = await bot.runtime.outbox.record("dlg:mid:m_retry:0")
    assert record is not None and record.state == "sent"


async def test_tracker_is_rasa_shaped_and_bounded(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    for n in range(MAX_EVENTS + 5):
        await bot.says(psid, f"message {n}")
    await bot.says(psid, "hi")
    await bot.runtime.drain()
    state = await stored(bot, psid)
    assert len(state["events"]) == MAX_EVENTS
    tracker = Tracker.from_dict(state)
    assert tracker.sender_id == psid
    assert tracker.latest_message["intent"]["name"] == "greeting"
    assert tracker.latest_action_name == "action_greeting"
    assert tracker.get_slot("optin_title") == "Get daily reminders"
    assert state["last_action_ms"] > 0


def dispatched(**kwargs: object) -> list[dict]:  # type: ignore[type-arg]
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(**kwargs)  # type: ignore[arg-type]
    return dispatcher.messages


def test_adapter_turns_dispatcher_messages_into_send_api_messages() -> None:
    [plain] = to_replies(dispatched(text="hello"))
    assert (plain.message, plain.purpose) == ({"text": "hello"}, "response")
    [buttons] = to_replies(dispatched(text="Pick", buttons=[{"title": "Watch", "url": "https://s.test/live"},
                                                            {"title": "Remind me", "payload": "OPTIN_YES"}]))
    assert buttons.message["attachment"]["payload"]["template_type"] == "button"
    many = [{"title": f"Size {s}", "payload": f"SIZE_{s}"} for s in "SMLX"]
    [quick] = to_replies(dispatched(text="Which size?", buttons=many))
    assert [q["payload"] for q in quick.message["quick_replies"]] == ["SIZE_S", "SIZE_M", "SIZE_L", "SIZE_X"]
    [qr] = to_replies(dispatched(text="Remind?", quick_replies=[{"title": "Yes", "payload": "Y"}]))
    assert qr.message["quick_replies"][0]["content_type"] == "text"
    card = payloads.notification_messages_request("Sale alerts", '{"topic":"sales"}')
    [optin] = to_replies(dispatched(json_message=card))
    assert (optin.purpose, optin.title) == ("optin_request", "Sale alerts")
    [otn] = to_replies(dispatched(json_message=payloads.one_time_notif_request("Back: red dress", "restock")))
    assert (otn.purpose, otn.title) == ("otn_request", "Back: red dress")
    [image] = to_replies(dispatched(image="https://s.test/a.jpg"))
    assert image.message["attachment"]["type"] == "image"
    [carousel] = to_replies(dispatched(elements=[payloads.generic_element("Denim", "40% off")]))
    assert carousel.message["attachment"]["payload"]["template_type"] == "generic"


@pytest.mark.parametrize("bad", [
    {"text": "x" * 2001}, {"text": "t", "quick_replies": [{"title": "x" * 21, "payload": "P"}]},
    {"json_message": {"nope": 1}}, {"image": "ftp://x"}, {},
])
def test_adapter_drops_what_messenger_would_refuse(bad: dict) -> None:  # type: ignore[type-arg]
    assert to_replies(dispatched(**bad)) == []
