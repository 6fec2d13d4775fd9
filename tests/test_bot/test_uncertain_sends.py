"""Sends whose answer was lost: confirmed by their echo, found in the shopper's thread, or shown uncertain.

Issue 8, finding 6: crash safety silently depended on echo webhooks. Without echoes a send whose
answer was lost was sent again (a duplicate); on the Marketing Message API path it was recorded
``failed/uncertain`` even when its echo came (a loss). The sandbox's ``lose_answer`` fault sends the
message and drops the connection before the answer, so the bot cannot know whether it left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.app import create_app
from bot.graph import payloads
from bot.runtime import Runtime
from bot.send_jobs import SendJob
from tests.conftest import TOPIC, SandboxBot, bounded, sandbox_settings
from tests.support.redis_server import free_port

ECHO_WAIT = 2.0


@pytest.fixture
async def bot(serve, redis: Redis, page_id: str) -> AsyncIterator[SandboxBot]:  # type: ignore[no-untyped-def]
    port = free_port()
    settings = sandbox_settings(page_id, port, echo_wait_seconds=ECHO_WAIT, reclaim_idle_seconds=0.3)
    runtime = Runtime(settings, redis)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False), port=port)
    yield SandboxBot(client, runtime, settings)
    await bounded(runtime.stop(), "stop the runtime")


async def lose_next_answer(bot: SandboxBot, psid: str) -> None:
    await bot.call("POST", "/sandbox/config", {"fault": {"calls": 1, "psid": psid, "lose_answer": True}})


async def settle(bot: SandboxBot, job_id: str, rounds: int = 40) -> Any:
    """Drain until the job has an outcome (a left job is looked at again after the reclaim interval)."""
    for _ in range(rounds):
        await bot.runtime.drain(timeout=20)
        record = await bot.runtime.outbox.record(job_id)
        if record is not None and record.state in ("sent", "skipped", "failed"):
            return record
        await bot.advance(0)  # the clock is Redis TIME: real time passes meanwhile
    raise AssertionError(f"{job_id} still {record}")


async def texts(bot: SandboxBot, psid: str) -> list[str]:
    return [payloads.summary(m["message"]) for m in await bot.inbox(psid)]


async def reply_with_lost_answer(bot: SandboxBot, echoes: bool) -> tuple[str, Any]:
    psid = await bot.shopper()
    await bot.says(psid, "hi")
    await bot.runtime.drain()
    await bot.call("POST", "/sandbox/config", {"echoes": echoes})
    await lose_next_answer(bot, psid)
    await bot.runtime.outbox.enqueue(SendJob(id="lost-1", purpose="response", psid=psid,
                                             message=payloads.text("Your size M is back")))
    return psid, await settle(bot, "lost-1")


async def test_a_lost_answer_is_confirmed_by_the_echo(bot: SandboxBot) -> None:
    psid, record = await reply_with_lost_answer(bot, echoes=True)
    assert record.state == "sent" and record.message_id
    assert (await texts(bot, psid)).count("Your size M is back") == 1


async def test_without_echoes_a_lost_answer_is_found_in_the_shoppers_thread_not_sent_twice(bot: SandboxBot) -> None:
    psid, record = await reply_with_lost_answer(bot, echoes=False)
    assert record.state == "sent"
    assert (await texts(bot, psid)).count("Your size M is back") == 1
    lookups = [s for s in await bot.sent() if s["path"].split("?")[0].endswith("/conversations")]
    assert lookups and all(s["status"] == 200 for s in lookups)


async def test_a_send_that_never_reached_meta_is_sent_once_after_the_look_up(bot: SandboxBot) -> None:
    psid = await bot.shopper()
    await bot.says(psid, "hi")
    await bot.runtime.drain()
    await bot.call("POST", "/sandbox/config", {"echoes": False})
    job = SendJob(id="never-1", purpose="response", psid=psid, message=payloads.text("Back in stock!"))
    await bot.runtime.outbox.enqueue(job)
    # a worker marked it sending and died before its call: nothing reached Meta
    await bot.runtime.outbox.mark_sending([(job, "psid")], "dead-worker", "2026-12-01")
    record = await settle(bot, "never-1")
    assert record.state == "sent"
    assert await texts(bot, psid) == ["Back in stock!"]


async def subscriber_outside_the_window(bot: SandboxBot) -> str:
    psid = await bot.shopper()
    await bot.subscribe([psid])
    await bot.advance(25 * 3600)  # outside the window: a notification goes by the Marketing Message API
    return psid


def live_notification(psid: str) -> SendJob:
    message = payloads.button_template("We're live!", [payloads.web_url_button("Watch now", "https://shop.test/l")])
    return SendJob(id=f"live.{psid}", purpose="notification", psid=psid, topic=TOPIC, campaign="live",
                   message=message)


async def test_a_lost_marketing_api_answer_is_confirmed_by_its_marketing_echo(bot: SandboxBot) -> None:
    psid = await subscriber_outside_the_window(bot)
    await lose_next_answer(bot, "*")
    await bot.runtime.outbox.enqueue(live_notification(psid))
    record = await settle(bot, f"live.{psid}")
    assert (record.state, record.via) == ("sent", "marketing_api")
    assert [m["via"] for m in await bot.inbox(psid)].count("marketing_api") == 1


async def test_without_echoes_a_lost_marketing_api_answer_is_counted_uncertain_not_resent(bot: SandboxBot) -> None:
    psid = await subscriber_outside_the_window(bot)
    await bot.call("POST", "/sandbox/config", {"echoes": False})
    await lose_next_answer(bot, "*")
    await bot.runtime.outbox.enqueue(live_notification(psid))
    record = await settle(bot, f"live.{psid}")
    assert (record.state, record.reason) == ("failed", "uncertain")
    assert [m["via"] for m in await bot.inbox(psid)].count("marketing_api") == 1  # it did arrive, once
    assert (await bot.runtime.outbox.numbers(campaign="live")).get("failed|uncertain") == 1


async def test_a_marketing_api_send_that_never_left_is_sent_once_when_later_sends_are_echoed(bot: SandboxBot) -> None:
    first, second = await subscriber_outside_the_window(bot), await bot.shopper("Ben")
    await bot.subscribe([second])
    await bot.advance(25 * 3600)
    lost = live_notification(first)
    await bot.runtime.outbox.enqueue(lost)
    # its worker marked it sending and died before the call: nothing reached Meta ...
    await bot.runtime.outbox.mark_sending([(lost, "marketing_api")], "dead-worker", "2026-12-01")
    await bot.advance(ECHO_WAIT + 0.5)  # past its echo wait, and past the clock-skew allowance
    await bot.runtime.outbox.enqueue(live_notification(second))  # ... while later sends are echoed
    record = await settle(bot, lost.id)
    assert (record.state, record.via) == ("sent", "marketing_api")
    assert [m["via"] for m in await bot.inbox(first)].count("marketing_api") == 1


async def test_without_echoes_a_resent_private_reply_that_meta_refuses_as_a_second_is_recorded_sent(
        bot: SandboxBot) -> None:
    """Its first call reached Meta (the answer was lost); nothing can look a private reply up, so it is sent
    again, and Meta refuses a second reply to the comment (code 10): that refusal confirms the first reply.
    Before, the job was recorded ``failed/permission`` and a claim it answered counted as unanswered."""
    psid = await bot.shopper()
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live at 8!"})
    comment = await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments",
                             {"psid": psid, "message": "so pretty"})
    await bot.runtime.drain()
    await bot.call("POST", "/sandbox/config", {"echoes": False})
    await lose_next_answer(bot, "*")
    now = (await bot.call("GET", "/sandbox/clock"))["now_ms"]
    await bot.runtime.outbox.enqueue(SendJob(id="pr-lost", purpose="private_reply", comment_id=comment["comment_id"],
                                             comment_ms=now, message=payloads.text("SOLD 12 is yours")))
    record = await settle(bot, "pr-lost")
    assert (record.state, record.via, record.reason) == ("sent", "comment", "")
    replies = [m for m in await bot.inbox(psid) if m.get("comment_id") == comment["comment_id"]]
    assert [payloads.summary(m["message"]) for m in replies] == ["SOLD 12 is yours"]
    calls = [s for s in await bot.sent() if comment["comment_id"] in str(s.get("request"))]
    assert len(calls) == 2, calls  # the lost one and the resend Meta refused


async def test_a_private_reply_refused_on_its_first_call_stays_failed(bot: SandboxBot) -> None:
    """Only a resend is confirmed by the refusal: a first call refused for permission is a failure."""
    psid = await bot.shopper()
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live at 8!"})
    comment = await bot.call("POST", f"/sandbox/posts/{post['post_id']}/comments",
                             {"psid": psid, "message": "so pretty"})
    await bot.runtime.drain()
    await bot.call("POST", "/sandbox/config", {"fault": {"calls": 1, "code": 10, "status": 403}})
    now = (await bot.call("GET", "/sandbox/clock"))["now_ms"]
    await bot.runtime.outbox.enqueue(SendJob(id="pr-no", purpose="private_reply", comment_id=comment["comment_id"],
                                             comment_ms=now, message=payloads.text("SOLD 12 is yours")))
    record = await settle(bot, "pr-no")
    assert (record.state, record.reason) == ("failed", "permission")
