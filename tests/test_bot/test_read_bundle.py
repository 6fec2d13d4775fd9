"""A batch's plain reads as one script call (bot/read_bundle.py, issue 10), on a real Redis: every staged read
gets the reply a pipeline would have given it, in order, scripts between them included; after the server
forgot the scripts the batch runs again; a command that is not a read is refused."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.batched_reads import run_batch
from bot.clock import Clock
from bot.keys import Keys
from bot.read_bundle import BundledReads, bundle_script


def stage_all(pipe: Any, keys: Keys, clock: Clock) -> None:
    p = keys.prefix
    pipe.get(p + "t:string")
    pipe.get(p + "t:missing")
    pipe.hget(p + "t:hash", "a")
    pipe.hget(p + "t:hash", "nope")
    clock.stage_now(pipe)  # a script between the plain reads
    pipe.hgetall(p + "t:hash")
    pipe.hgetall(p + "t:missing")
    pipe.hmget(p + "t:hash", ["a", "nope", "b"])
    pipe.hmget(p + "t:hash", "b", "a")
    pipe.sismember(p + "t:set", "x")
    pipe.sismember(p + "t:set", "y")
    pipe.hexists(p + "t:hash", "a")
    pipe.hexists(p + "t:hash", "nope")


async def test_the_bundled_replies_are_the_pipelines(redis: Redis, keys: Keys) -> None:
    p, clock = keys.prefix, Clock(redis, keys)
    await redis.set(p + "t:string", "s")
    await redis.hset(p + "t:hash", mapping={"a": "1", "b": "2"})
    await redis.sadd(p + "t:set", "x")
    await clock.now_ms()  # the clock's script known, as the pipeline below needs
    async with redis.pipeline(transaction=False) as pipe:
        stage_all(pipe, keys, clock)
        expected = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        reads = BundledReads(pipe)
        stage_all(reads, keys, clock)
        assert len(reads) == len(expected)
        reads.finish(bundle_script(redis))
        assert len(pipe) == 2  # the clock's script and one bundle for the twelve plain reads
        got = reads.replies(await pipe.execute())
    assert [g for i, g in enumerate(got) if i != 4] == [e for i, e in enumerate(expected) if i != 4]
    assert abs(got[4] - expected[4]) < 5_000  # the clock, read twice
    assert got[5] == {b"a": b"1", b"b": b"2"} and got[6] == {} and got[7] == [b"1", None, b"2"]
    assert (got[9], got[10], got[11], got[12]) == (True, False, True, False)


async def test_a_batch_runs_again_once_the_server_learnt_the_bundle(redis: Redis, keys: Keys) -> None:
    await redis.set(keys.prefix + "t:string", "s")
    await redis.script_flush()
    _, replies = await run_batch(redis, lambda pipe: pipe.get(keys.prefix + "t:string"), Clock(redis, keys).now_ms)
    assert replies == [b"s"]


async def test_the_bundle_runs_reads_only(redis: Redis, keys: Keys) -> None:
    await redis.set(keys.prefix + "t:x", "kept")
    with pytest.raises(ResponseError, match="not a read it runs"):
        await bundle_script(redis)(keys=[keys.prefix + "t:x"], args=["DEL", 0])
    assert await redis.get(keys.prefix + "t:x") == b"kept"
