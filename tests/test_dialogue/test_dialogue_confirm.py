"""Asking before an uncertain stop, end to end: shopper -> webhook -> dialogue -> sandbox inbox -> tap -> ledger."""

from __future__ import annotations

from typing import Any

import pytest

from dialogue.kit import KEEP_REMINDERS, STOP_REMINDERS
from tests.conftest import SandboxBot
from tests.test_dialogue.test_dialogue import TOPIC, Serve, bot, chat, dialogue, opt_in, texts  # noqa: F401

QUESTION = "Stop live reminders?"
UNSURE = ("too many messages", "ang dami nyo mag message")  # complaints: maybe a stop, maybe not


async def subscribed(bot: SandboxBot) -> str:
    psid = await bot.shopper()
    await chat(bot, psid, "LIVE")
    await opt_in(bot, psid)
    consent = await bot.runtime.consent.consent(psid, TOPIC)
    assert consent.subscription is not None and not consent.opted_out
    return psid


def question_in(got: list[dict[str, Any]]) -> dict[str, Any]:
    asked = [m["message"] for m in got if m["message"].get("text") == QUESTION]
    assert len(asked) == 1, texts(got)
    return asked[0]


async def ask(bot: SandboxBot, psid: str, text: str) -> dict[str, Any]:
    assert dialogue(bot).meaning.spotter.spot(text).confirm, f"the shipped model should find {text!r} uncertain"
    question = question_in(await chat(bot, psid, text))
    assert not (await bot.runtime.consent.consent(psid, TOPIC)).opted_out  # nothing stopped by asking
    return question


@pytest.mark.parametrize("text", UNSURE)
async def test_an_uncertain_stop_asks_and_yes_opts_out_like_a_certain_one(bot: SandboxBot, text: str) -> None:
    psid = await subscribed(bot)
    question = await ask(bot, psid, text)
    assert [(q["title"], q["payload"]) for q in question["quick_replies"]] == [
        ("Yes", STOP_REMINDERS), ("No", KEEP_REMINDERS)]
    got = await chat(bot, psid, "Yes", quick_reply={"payload": STOP_REMINDERS})
    consent = await bot.runtime.consent.consent(psid, TOPIC)
    assert consent.opted_out and consent.status == "opted_out"
    assert any("Stop these messages" in t for t in texts(got))  # the certain stop's own answer
    assert await dialogue(bot).followups.due_at(psid) is None


async def test_no_leaves_the_subscription_alone(bot: SandboxBot) -> None:
    psid = await subscribed(bot)
    await ask(bot, psid, UNSURE[0])
    got = await chat(bot, psid, "No", quick_reply={"payload": KEEP_REMINDERS})
    consent = await bot.runtime.consent.consent(psid, TOPIC)
    assert not consent.opted_out and consent.status == "active"
    assert texts(got) == ["No problem — your live reminders stay on 👍"]


async def test_a_typed_answer_soon_after_counts_like_a_tap(bot: SandboxBot) -> None:
    psid = await subscribed(bot)
    await ask(bot, psid, UNSURE[0])
    await chat(bot, psid, "hindi po")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).status == "active"
    await ask(bot, psid, UNSURE[1])
    got = await chat(bot, psid, "oo po")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).status == "opted_out"
    assert any("Stop these messages" in t for t in texts(got))


async def test_a_typed_yes_long_after_the_question_stops_nothing(bot: SandboxBot) -> None:
    psid = await subscribed(bot)
    await ask(bot, psid, UNSURE[0])
    await bot.advance(20 * 60)
    await chat(bot, psid, "yes")
    assert (await bot.runtime.consent.consent(psid, TOPIC)).status == "active"


async def test_a_certain_stop_is_not_asked(bot: SandboxBot) -> None:
    psid = await subscribed(bot)
    got = await chat(bot, psid, "STOP LIVE")
    assert QUESTION not in texts(got)
    assert (await bot.runtime.consent.consent(psid, TOPIC)).opted_out


async def test_on_standby_an_uncertain_stop_still_stops(bot: SandboxBot) -> None:
    """The bot may not answer on standby, so it cannot ask: a likely stop counts (recall first)."""
    psid = await subscribed(bot)
    assert await chat(bot, psid, UNSURE[0], standby=True) == []
    assert (await bot.runtime.consent.consent(psid, TOPIC)).opted_out
