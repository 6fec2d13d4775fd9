"""The opt-in follow-up: scheduled in Redis on the deployment clock, survives restarts, fires once."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.outbox import day_of
from bot.runtime import Runtime
from dialogue.followups import FollowUps
from dialogue.keys import DialogueKeys
from tests.conftest import SandboxBot
from tests.test_dialogue.test_dialogue import PLUGIN, Serve, bot, cards, chat, opt_in, start_bot  # noqa: F401

HOUR = 3600


async def fresh_runtime(bot: SandboxBot) -> Runtime:
    """Another process: a new Runtime on the same Redis, with the dialogue plugin."""
    runtime = Runtime(bot.settings, bot.runtime.redis)
    await runtime.load_plugins([PLUGIN])
    return runtime


async def fire_due(runtime: Runtime) -> int:
    fired = await runtime.context["followups"].run_once()
    await runtime.drain()
    return int(fired)


async def test_followup_survives_a_restart_and_fires_once(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "hi")
    assert not cards(await bot.inbox(psid))
    await bot.runtime.stop()  # the process that scheduled it is gone
    later = await fresh_runtime(bot)
    try:
        assert await fire_due(later) == 0  # not due yet
        await bot.advance(12 * HOUR + 60)
        assert await fire_due(later) == 1
        assert [c["title"] for c in cards(await bot.inbox(psid))] == ["Get daily reminders"]
        assert await fire_due(later) == 0  # once
    finally:
        await later.stop()


async def test_two_processes_racing_fire_it_once(bot: SandboxBot) -> None:
    shoppers = [await bot.shopper(f"s{i}") for i in range(5)]
    for psid in shoppers:
        await bot.says(psid, "hello po")
    await bot.runtime.drain()
    await bot.advance(12 * HOUR + 60)
    one, two = await fresh_runtime(bot), await fresh_runtime(bot)
    try:
        claimed = await asyncio.gather(*(r.context["followups"].run_once() for r in (one, two, one, two)))
        assert sum(claimed) == len(shoppers)
        await asyncio.gather(one.drain(), two.drain())
        for psid in shoppers:
            assert len(cards(await bot.inbox(psid))) == 1
    finally:
        await one.stop()
        await two.stop()


async def test_a_later_message_pushes_it_back_and_an_opt_in_cancels_it(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "hi")
    await bot.advance(6 * HOUR)
    await chat(bot, psid, "ok thanks")
    await bot.advance(6 * HOUR + 60)
    assert await fire_due(bot.runtime) == 0  # 12 h after the last message, not the first
    await chat(bot, psid, "LIVE")
    await opt_in(bot, psid)
    await bot.advance(13 * HOUR)
    assert await fire_due(bot.runtime) == 0
    assert len(cards(await bot.inbox(psid))) == 1


async def test_no_followup_outside_the_window_or_after_an_opt_out(bot: SandboxBot) -> None:
    quiet, stopped = await bot.shopper("quiet"), await bot.shopper("stopped")
    await chat(bot, quiet, "hi")
    await chat(bot, stopped, "hi")
    await chat(bot, stopped, "stop")
    await bot.advance(25 * HOUR)  # nobody ran the scheduler in time: the window closed
    assert await fire_due(bot.runtime) == 1  # claimed, then judged: nothing to send
    assert not cards(await bot.inbox(quiet)) and not cards(await bot.inbox(stopped))
    numbers = await bot.runtime.outbox.numbers(day=day_of(await bot.runtime.clock.now_ms()))
    assert not any(k.startswith("skipped") for k in numbers), numbers  # judged before queueing, not skipped


async def test_a_claim_left_by_a_dead_process_is_taken_again(bot: SandboxBot, redis: Redis) -> None:
    psid = await bot.shopper()
    await chat(bot, psid, "hi")
    await bot.advance(12 * HOUR + 60)

    async def dies(psid: str, due_ms: int) -> None:
        raise ConnectionError("the process lost Redis mid-way")

    dying = FollowUps(redis, bot.runtime.keys, dies)
    try:
        await dying.run_once()
    except ConnectionError:
        pass
    assert await redis.zcard(DialogueKeys.of(bot.runtime.keys).followups_claimed) == 1
    assert await fire_due(bot.runtime) == 0  # leased: not taken while the lease runs
    await bot.advance(61)
    assert await fire_due(bot.runtime) == 1
    assert len(cards(await bot.inbox(psid))) == 1
    assert await redis.zcard(DialogueKeys.of(bot.runtime.keys).followups_claimed) == 0


async def test_the_followup_can_ask_for_a_one_time_notification_instead(serve: Serve, redis: Redis,
                                                                          page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id, followup_offer="otn:next_live",
                          followup_otn_title="Tell me about the next live sale")
    psid = await bot.shopper()
    assert [c["title"] for c in cards(await chat(bot, psid, "LIVE"))] == ["Get daily reminders"]  # the card now
    await bot.advance(12 * HOUR + 60)
    assert await fire_due(bot.runtime) == 1
    requests = cards(await bot.inbox(psid), "one_time_notif_req")
    assert [c["title"] for c in requests] == ["Tell me about the next live sale"]  # 12 h later: an OTN request
    await opt_in(bot, psid, "Tell me about the next live sale")
    assert (await bot.runtime.consent.consent(psid, "next_live")).otn_tokens == 1
    await bot.runtime.stop()
