"""The Page's pause and slowdown on a real Redis, seen by two workers (two PageThrottle, two SendLimits)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.buckets import SendLimits
from bot.clock import Clock
from bot.graph import GraphThrottled, Usage
from bot.keys import Keys
from bot.send_retry import DelayedJobs
from bot.settings import Settings
from bot.throttle import PROBE_INTERVAL_MS, PageThrottle

Worker = tuple[PageThrottle, SendLimits, DelayedJobs]


@pytest.fixture
async def workers(redis: Redis, keys: Keys) -> AsyncIterator[list[Worker]]:
    settings = Settings().replace(send_throttle_base_seconds=2.0, send_usage_pause_seconds=3.0, page_send_rate=100.0)
    made: list[Worker] = []
    for _ in range(2):
        limits = SendLimits(redis, keys, settings)
        throttle = PageThrottle(redis, keys, settings, limits)
        made.append((throttle, limits, DelayedJobs(redis, keys, throttle)))
    yield made
    for _, limits, _ in made:
        await limits.aclose()


def throttle_answer(code: int = 4, regain_seconds: float | None = None) -> GraphThrottled:
    return GraphThrottled("(#4) slow down", code=code, http_status=400, retry_after=regain_seconds)


def messenger_usage(percent: int, regain_minutes: int = 0) -> Usage:
    row = {"type": "messenger", "call_count": percent, "estimated_time_to_regain_access": regain_minutes}
    return Usage(business={"1": [row]})


async def test_a_throttle_pauses_every_worker_of_the_page_and_one_probe_a_second_gets_through(
        workers: list[Worker], redis: Redis, keys: Keys) -> None:
    (a, _, _), (b, _, b_poll) = workers
    pause_ms = await a.throttled(throttle_answer(), probe=False)
    assert 2000 * 0.8 - 50 <= pause_ms <= 2000 * 1.2  # the base, with jitter
    assert a.paused and not b.paused  # b has not looked yet
    await b_poll.move_due()  # every worker polls the Page's state a few times a second
    assert b.paused
    first = await b.admit("response", "replies")
    assert first.go and first.probe  # the pause's one probe of this second
    second = await a.admit("response", "replies")
    assert not second.go and 0 < second.wait_ms <= PROBE_INTERVAL_MS + 100  # a reply comes back for the next probe
    await redis.xadd(keys.outbox, {"j": "{}"})  # a reply waits in the outbox
    await redis.hset(keys.send_throttle, "probe", 0)  # (as if a second had passed)
    campaign = await a.admit("notification", "campaigns")
    assert not campaign.go and campaign.wait_ms > PROBE_INTERVAL_MS  # no campaign probe while a reply waits
    await b.succeeded(Usage(), probe=True)  # the probe went through: the pause ends for everyone
    await a.admit("response", "replies")  # a asks Redis again: it learns the pause is over
    assert not b.paused and (await a.admit("response", "replies")).go


async def test_pauses_in_a_row_double_a_throttled_probe_only_keeps_one_going_and_a_success_resets(
        workers: list[Worker], redis: Redis, keys: Keys) -> None:
    (a, _, _), (b, _, b_poll) = workers
    first = await a.throttled(throttle_answer(613), probe=False)
    in_flight = await b.throttled(throttle_answer(613), probe=False)  # a call made before b knew: same pause
    assert abs(in_flight - first) < 100
    probe = await a.throttled(throttle_answer(613), probe=True)  # the probe is throttled too: the pause goes on ...
    assert a.level == 1 and probe >= 2000 * 0.8 - 100  # ... without doubling: probes once a second must not
    # pile up a 15-minute pause (issue 8, finding 7: six seconds of throttling held replies for 36 s)
    await Clock(redis, keys).advance(probe / 1000 + 0.1)  # the pause runs out with no success ...
    after = await a.throttled(throttle_answer(613), probe=False)  # ... and Meta throttles again: twice as long
    assert a.level == 2 and after > first * 1.3
    await a.succeeded(Usage(), probe=False)
    await b_poll.move_due()
    assert b.level == 0 and not b.paused
    again = await b.throttled(throttle_answer(613), probe=False)
    assert again < after and b.level == 1


async def test_a_successful_probe_makes_what_waited_for_the_pause_due_at_once(
        workers: list[Worker], redis: Redis, keys: Keys) -> None:
    (a, _, _), _ = workers
    pause_ms = await a.throttled(throttle_answer(), probe=False)
    now = a.now_ms()
    await redis.zadd(keys.outbox_campaigns_delayed, {"b-first": now + pause_ms - 2, "a-then": now + pause_ms - 1,
                                                     "retry-much-later": now + pause_ms + 60_000})
    await a.succeeded(Usage(), probe=True)
    scores = dict(await redis.zrange(keys.outbox_campaigns_delayed, 0, -1, withscores=True))
    assert scores[b"b-first"] < scores[b"a-then"] <= a.now_ms() + 50  # due now, in the order they waited in
    assert scores[b"retry-much-later"] == now + pause_ms + 60_000  # its own backoff, untouched


async def test_metas_estimate_sets_the_pause(workers: list[Worker]) -> None:
    (a, _, _), _ = workers
    pause_ms = await a.throttled(throttle_answer(80006, regain_seconds=120.0), probe=False)
    assert 119_000 <= pause_ms <= 120_000


async def test_usage_headers_halve_the_rate_then_pause_every_worker(workers: list[Worker]) -> None:
    (a, a_limits, _), (b, b_limits, b_poll) = workers
    normal = b_limits.interval_ms
    await a.succeeded(messenger_usage(92), probe=False)
    await b_poll.move_due()
    assert a_limits.interval_ms == b_limits.interval_ms == 2 * normal and not b.paused
    await a.succeeded(messenger_usage(97), probe=False)
    await b_poll.move_due()
    assert b.paused and b.kind == "usage"
    assert not (await b.admit("response", "replies")).go  # no probes in a usage pause: it is short anyway
    await a.succeeded(messenger_usage(10, regain_minutes=2), probe=False)  # an estimate: that long
    await b_poll.move_due()
    assert 115_000 <= b.until_ms - b.now_ms() <= 120_000


async def test_a_pause_is_logged_once_not_once_per_throttled_call(
        workers: list[Worker], caplog: pytest.LogCaptureFixture) -> None:
    """Issue 8's noise: every in-flight call that met the throttle logged its own warning."""
    (a, _, _), (b, _, b_poll) = workers
    with caplog.at_level("INFO", logger="bot.throttle"):
        await a.throttled(throttle_answer(), probe=False)
        await b_poll.move_due()
        for throttle in (a, b, a, b):  # the calls in flight when Meta throttled, answered one by one
            await throttle.throttled(throttle_answer(), probe=False)
    said = [r for r in caplog.records if r.getMessage().startswith("Page throttled by Meta")]
    assert len(said) == 5 and [r.levelname for r in said].count("WARNING") == 1
