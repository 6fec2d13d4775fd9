"""Throttling (issue 8, finding 7): Meta's throttle answers pause the Page, never a batch; usage headers slow it.

The sandbox's fault hook (``POST /sandbox/config {"fault"}``) answers chosen calls with Meta's
throttle codes or a usage header; the bot runs with its workers in the background.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from bot.keys import Keys
from bot.outbox import day_of
from tests.conftest import SandboxBot
from tests.support.sending import Serve, bot_settings, calls_by_job, final_records, new_port, reply, start_bot, wait_for
from tests.test_bot.test_send_faults import shoppers_in_window

ATTEMPTS = 3


def usage(page_id: str, percent: int, regain_minutes: int = 0) -> dict[str, Any]:
    return {page_id: [{"type": "messenger", "call_count": percent, "total_cputime": 10, "total_time": 10,
                       "estimated_time_to_regain_access": regain_minutes}]}


async def arm(bot: SandboxBot, **fault: Any) -> None:
    await bot.call("POST", "/sandbox/config", {"fault": fault})


async def test_throttled_jobs_back_off_within_their_budget_and_never_hold_other_shoppers_replies(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port(), SEND_THROTTLE_BASE_SECONDS="0.1",
                                                     SEND_THROTTLE_ATTEMPTS=str(ATTEMPTS)))
    a4, a613, a80006, a429, ben = await shoppers_in_window(bot, redis, keys, 5)
    await arm(bot, calls=100, code=4, psid=a4)  # app limit, no usage header
    await arm(bot, calls=100, code=613, psid=a613)  # custom limit, no usage header
    await arm(bot, calls=100, code=80006, usage=usage(page_id, 100), psid=a80006)  # Messenger BUC, with header
    await arm(bot, calls=100, status=429, psid=a429)  # HTTP 429, no code
    throttled = {a4: "t-4", a613: "t-613", a80006: "t-80006", a429: "t-429"}
    # two at a time, so that each pair is read in a batch of its own
    for pair in ((a4, a613), (a80006, a429)):
        await bot.runtime.outbox.enqueue_many([reply(throttled[p], p) for p in pair])
        await wait_for(lambda: _called(bot, [throttled[p] for p in pair]), "the first throttled calls")
    await bot.runtime.outbox.enqueue(reply("ben-reply", ben))
    # The Page is paused: ben's reply goes as one of the once-a-second probes, the four throttled replies
    # probing too (each keeping the pause going, up to 1.8 s here), so it may wait out four of them.
    records = await wait_for(lambda: final_records(bot, ["ben-reply"]), "another shopper's reply", 10)
    assert records["ben-reply"].state == "sent"

    records = await wait_for(lambda: final_records(bot, throttled.values()), "the throttled jobs' outcomes", 60)
    assert {(r.state, r.reason) for r in records.values()} == {("failed", "throttled")}
    calls = await calls_by_job(bot)
    for job_id in throttled.values():  # each retried within its budget, then given up
        assert len(calls[job_id]) == ATTEMPTS and all(status >= 400 for status in calls[job_id]), calls[job_id]
    numbers = await bot.runtime.outbox.numbers(day=day_of(await bot.runtime.clock.now_ms()))
    assert numbers["failed|throttled"] == len(throttled)


async def _called(bot: SandboxBot, job_ids: list[str]) -> bool:
    calls = await calls_by_job(bot)
    return all(job_id in calls for job_id in job_ids)


async def test_a_high_usage_header_on_a_success_halves_the_page_rate(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port(), PAGE_SEND_RATE="20"))  # one per 50 ms
    psids = await shoppers_in_window(bot, redis, keys, 13)
    await arm(bot, calls=1, usage=json.dumps(usage(page_id, 92)))  # a success, 92 % of the allowance used
    await bot.runtime.outbox.enqueue(reply("first", psids[0]))
    await wait_for(lambda: final_records(bot, ["first"]), "the first send")
    jobs = [reply(f"next-{p}", p) for p in psids[1:]]
    await bot.runtime.outbox.enqueue_many(jobs)
    await wait_for(lambda: final_records(bot, [j.id for j in jobs]), "the next sends")
    times = sorted(s["at_ms"] for s in await bot.sent()
                   if s["api"] == "send" and (s["request"]["message"].get("metadata") or "").startswith("next-"))
    assert len(times) == len(jobs)
    # at the full rate 12 sends span about 11 x 50 ms; at half rate about 11 x 100 ms
    assert times[-1] - times[0] >= 11 * 100 * 0.85, times


async def test_a_usage_header_near_the_limit_pauses_the_page_for_a_few_seconds(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port(), SEND_USAGE_PAUSE_SECONDS="2"))
    ana, ben = await shoppers_in_window(bot, redis, keys, 2)
    await arm(bot, calls=1, usage=json.dumps(usage(page_id, 97)))
    await bot.runtime.outbox.enqueue(reply("first", ana))
    await wait_for(lambda: final_records(bot, ["first"]), "the first send")
    await bot.runtime.outbox.enqueue(reply("second", ben))
    await wait_for(lambda: final_records(bot, ["second"]), "the send after the pause")
    at = {s["request"]["message"]["metadata"]: s["at_ms"] for s in await bot.sent()
          if s["api"] == "send" and s["status"] == 200 and s["request"]["message"].get("metadata")}
    assert at["second"] - at["first"] >= 2000 * 0.9
