"""Outcomes, delays and the delayed ZSETs on a real Redis: each write applied once, each job in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.buckets import SendLimits
from bot.clock import Clock
from bot.graph import payloads
from bot.keys import Keys
from bot.outbox import GROUP, Entry, Outbox, day_of
from bot.send_jobs import Delay, Outcome, SendJob
from bot.send_retry import RETRY_CAP_MS, DelayedJobs, RetryBudget, backoff_ms
from bot.settings import Settings
from bot.streams import ensure_group
from bot.throttle import PageThrottle


@pytest.fixture
async def parts(redis: Redis, keys: Keys) -> AsyncIterator[tuple[Outbox, DelayedJobs, Clock]]:
    outbox = Outbox(redis, keys)
    limits = SendLimits(redis, keys, Settings())
    for lane in outbox.lanes.values():
        await ensure_group(redis, lane.stream, GROUP)
    yield outbox, DelayedJobs(redis, keys, PageThrottle(redis, keys, Settings(), limits)), Clock(redis, keys)
    await limits.aclose()


def reply(job_id: str, psid: str = "p1") -> SendJob:
    return SendJob(id=job_id, purpose="response", psid=psid, message=payloads.text("hi"), campaign="c1")


def notification(job_id: str) -> SendJob:
    return SendJob(id=job_id, purpose="notification", psid="p2", topic="t", message=payloads.text("live!"))


async def read(redis: Redis, outbox: Outbox, lane: str) -> list[tuple[Entry, SendJob]]:
    stream = outbox.lanes[lane].stream
    reply_ = await redis.xreadgroup(GROUP, "test", {stream: ">"}, count=100)
    return [(Entry(i, lane), SendJob.from_json(f[b"j"])) for _, entries in reply_ for i, f in entries]


async def test_a_write_of_outcomes_delays_and_acks_is_applied_once_however_often_it_is_repeated(
        parts: tuple[Outbox, DelayedJobs, Clock], redis: Redis, keys: Keys) -> None:
    outbox, delayed, clock = parts
    await outbox.enqueue_many([reply("sent-1"), notification("later-1"), reply("dup-1")])
    entries = await read(redis, outbox, "replies") + await read(redis, outbox, "campaigns")
    by_id = {job.id: (entry, job) for entry, job in entries}
    assert set(by_id) == {"sent-1", "later-1", "dup-1"}
    await outbox.mark_sending([(by_id["sent-1"][1], "psid"), (by_id["later-1"][1], "psid")], "test", "2026-01-01")
    now = await clock.now_ms()
    items = [(by_id["later-1"][0], Delay(by_id["later-1"][1], 60_000, "network", 1, 0, 0)),
             (by_id["sent-1"][0], Outcome(by_id["sent-1"][1], "sent", via="psid", message_id="m1")),
             (by_id["dup-1"][0], None)]  # its record is final elsewhere: only acknowledged
    for _ in range(3):  # the answer was lost twice: the same write again
        await outbox.finish(items, now)
    assert (await outbox.numbers(campaign="c1"))["sent"] == 1
    assert (await outbox.numbers(day=day_of(now)))["sent"] == 1
    later = await outbox.record("later-1")
    assert later is not None and (later.state, later.attempts, later.delays) == ("delayed", 1, 1)
    assert later.failed_since > 0
    assert await redis.zscore(keys.outbox_campaigns_delayed, "later-1") is not None
    for lane in outbox.lanes.values():  # every entry acknowledged and gone
        assert await redis.xlen(lane.stream) == 0
    assert await redis.zcard(keys.awaiting_receipt("p2")) == 0  # a delayed job awaits no receipt
    assert await redis.zcard(keys.awaiting_receipt("p1")) == 1  # the sent one does (since it was marked)


async def test_a_due_job_moves_back_to_its_lane_once_and_a_job_behind_it_stays_behind(
        parts: tuple[Outbox, DelayedJobs, Clock], redis: Redis, keys: Keys) -> None:
    outbox, delayed, clock = parts
    first, second = reply("part-0"), SendJob(id="part-1", purpose="response", psid="p1",
                                             message=payloads.text("card"), after="part-0")
    await outbox.enqueue_many([first, second])
    entries = await read(redis, outbox, "replies")
    await outbox.finish([(entries[0][0], Delay(first, 5_000, "network", 1, 0, 0)),
                         (entries[1][0], Delay(second, 0, "following", 0, -1, 0, behind="part-0"))],
                        await clock.now_ms())
    first_due = await redis.zscore(keys.outbox_delayed, "part-0")
    assert first_due is not None and await redis.zscore(keys.outbox_delayed, "part-1") == first_due + 1
    assert (await outbox.record("part-1")).failed_since == 0  # it did not fail: it waits  # type: ignore[union-attr]
    assert await delayed.move_due() == 0  # not due yet
    await clock.advance(6)
    assert await delayed.move_due() == 2
    assert await delayed.move_due() == 0  # moved once
    back = await read(redis, outbox, "replies")
    assert [job.id for _, job in back] == ["part-0", "part-1"]  # in order
    record = await outbox.record("part-0")
    assert record is not None and record.state == "queued" and await redis.hget(keys.send_record("part-0"), "job") is None
    assert await delayed.waiting() == 0


def test_backoff_doubles_from_a_second_to_thirty_with_jitter() -> None:
    for attempt, ceiling in ((1, 1000), (2, 2000), (3, 4000), (6, RETRY_CAP_MS), (20, RETRY_CAP_MS)):
        waits = [backoff_ms(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(set(waits)) > 1


def test_the_budget_counts_failed_attempts_and_time_from_the_first_failure() -> None:
    from bot.send_jobs import SendRecord
    budget = RetryBudget(Settings().replace(send_retry_seconds=60.0, send_throttle_attempts=3))
    first = budget.after_failure(None, 1_000_000)
    assert first is not None and (first.attempts, first.failed_since) == (1, 1_000_000)
    record = SendRecord(state="queued", attempts=4, failed_since=1_000_000)
    assert budget.after_failure(record, 1_000_000 + 59_000 - RETRY_CAP_MS) is not None
    assert budget.after_failure(record, 1_000_000 + 61_000) is None  # a minute after the first failure
    assert budget.after_throttle(SendRecord(state="queued", attempts=1), 5, 100) is not None
    assert budget.after_throttle(SendRecord(state="queued", attempts=2), 5, 100) is None  # the third throttled call
