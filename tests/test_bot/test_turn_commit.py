"""A handler's commit on real Redis (issue 10): its send jobs and last writes happen in the step that completes
its event, atomically, only while the consumer holds the shopper's lease, and once however often it is retried."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.graph import payloads
from bot.keys import Keys
from bot.outbox import Outbox, SendJob
from bot.queues import Queued, ShopperQueues
from bot.turn_commit import TurnCommit, Write, current, deferring

PSID = "7300000000000001"


def reply(n: int) -> SendJob:
    return SendJob(id=f"dlg:mid.t:{n}", purpose="response", message=payloads.text(f"reply {n}"), psid=PSID,
                   after=f"dlg:mid.t:{n - 1}" if n else "")


def commit_of(outbox: Outbox, keys: Keys, n_jobs: int = 2) -> TurnCommit:
    commit = TurnCommit()
    commit.enqueue(outbox.enqueue_arguments([reply(n) for n in range(n_jobs)]))

    def last_writes(pipe: object) -> None:
        pipe.set(f"{keys.prefix}test-tracker", '{"handled":["mid.t"]}', ex=600)  # type: ignore[attr-defined]
        pipe.zadd(f"{keys.prefix}test-nudges", {PSID: 1234})  # type: ignore[attr-defined]
        pipe.zrem(f"{keys.prefix}test-nudges", "someone-else")  # type: ignore[attr-defined]

    commit.stage(last_writes)
    return commit


async def leased(queues: ShopperQueues) -> str:
    await queues.enqueue([Queued(f"u:{PSID}", "mid:mid.t", '{"n":0}', "1-0.0")])
    claimed, _ = await queues.claim("c1", 10)
    assert claimed and claimed[0].head is not None
    return claimed[0].head.item_id


async def test_complete_queues_the_jobs_and_writes_the_last_writes_with_the_pop(redis: Redis, keys: Keys) -> None:
    queues, outbox = ShopperQueues(redis, keys), Outbox(redis, keys)
    await redis.zadd(f"{keys.prefix}test-nudges", {"someone-else": 1})
    item = await leased(queues)
    after = await queues.complete(f"u:{PSID}", "c1", "events_total|message", item, keep=True,
                                  commit=commit_of(outbox, keys))
    assert after.left == 0
    assert await redis.llen(keys.queue(f"u:{PSID}")) == 0
    assert await redis.xlen(keys.outbox) == 2  # both replies, in order, chained
    first, second = await outbox.records(["dlg:mid.t:0", "dlg:mid.t:1"])
    assert first is not None and first.state == "queued"
    assert second is not None and second.state == "queued" and second.after == "dlg:mid.t:0"
    assert await redis.get(f"{keys.prefix}test-tracker") == b'{"handled":["mid.t"]}'
    assert 0 < await redis.ttl(f"{keys.prefix}test-tracker") <= 600
    assert await redis.zrange(f"{keys.prefix}test-nudges", 0, -1, withscores=True) == [(PSID.encode(), 1234.0)]
    assert await redis.hget(keys.counters, "events_total|message") == b"1"


async def test_a_retried_complete_commits_nothing_twice(redis: Redis, keys: Keys) -> None:
    """The first try ran and its answer was lost: the retry finds the head gone and does nothing again."""
    queues, outbox = ShopperQueues(redis, keys), Outbox(redis, keys)
    item = await leased(queues)
    assert await queues.enqueue([Queued(f"u:{PSID}", "mid:mid.u", '{"n":1}', "2-0.0")]) == 1
    commit = commit_of(outbox, keys)
    assert (await queues.complete(f"u:{PSID}", "c1", "events_total|message", item, keep=True, commit=commit)).left == 1
    await redis.delete(f"{keys.prefix}test-tracker")
    again = await queues.complete(f"u:{PSID}", "c1", "events_total|message", item, keep=True, commit=commit)
    assert again.left == 1  # the next event is still queued
    assert await redis.xlen(keys.outbox) == 2
    assert await redis.get(f"{keys.prefix}test-tracker") is None  # not written again by the retry
    assert await redis.hget(keys.counters, "events_total|message") == b"1"


async def test_a_consumer_that_lost_the_lease_commits_nothing(redis: Redis, keys: Keys) -> None:
    """Another consumer holds the shopper now and handles the event again: the stale one writes nothing."""
    queues, outbox = ShopperQueues(redis, keys), Outbox(redis, keys)
    item = await leased(queues)
    await redis.hset(keys.lease_owners, f"u:{PSID}", "c2")
    after = await queues.complete(f"u:{PSID}", "c1", "events_total|message", item, keep=True,
                                  commit=commit_of(outbox, keys))
    assert after.left == -1
    assert await redis.xlen(keys.outbox) == 0
    assert await redis.exists(f"{keys.prefix}test-tracker") == 0
    assert await redis.llen(keys.queue(f"u:{PSID}")) == 1  # left for the new holder


async def test_a_write_the_commit_does_not_know_is_refused_before_anything_is_done(redis: Redis, keys: Keys) -> None:
    queues, outbox = ShopperQueues(redis, keys), Outbox(redis, keys)
    item = await leased(queues)
    commit = commit_of(outbox, keys)
    commit.staged.writes.append(Write("DEL", keys.counters, ()))
    with pytest.raises(ResponseError, match="not a turn write"):
        await queues.complete(f"u:{PSID}", "c1", "events_total|message", item, keep=True, commit=commit)
    assert await redis.xlen(keys.outbox) == 0
    assert await redis.exists(f"{keys.prefix}test-tracker") == 0
    assert await redis.llen(keys.queue(f"u:{PSID}")) == 1


def test_a_commit_takes_nothing_once_its_handler_returned() -> None:
    """A task the handler left running must not add work that no step would ever run."""
    commit = TurnCommit()
    with deferring(commit):
        assert current() is commit
    assert current() is None
    with pytest.raises(RuntimeError, match="takes nothing more"):
        commit.stage(lambda pipe: pipe.set("k", "v"))
