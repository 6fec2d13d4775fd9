"""One script's calls of one event-loop turn in one pipeline (bot.script_batches, issue 10: the sandbox's sends),
on a real Redis: one write for the turn, each call its own reply or error, NOSCRIPT run once more,
an outage reaching every caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.keys import Keys
from bot.script_batches import ScriptBatches
from bot.scripts import register_script
from tests.conftest import REDIS_CLUSTER, REDIS_URL
from tests.support.redis_server import free_port

COUNT = """
if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end
return redis.call('INCR', KEYS[1]) .. ' ' .. ARGV[1]
"""

pytestmark = pytest.mark.skipif(REDIS_CLUSTER, reason="Redis Cluster pipelines take no scripts: one call each")


class Writes(Connection):
    """A redis-py connection that notes the commands of each write it sends (one list per pipeline)."""

    writes: ClassVar[list[list[bytes]]] = []

    def pack_command(self, *args: Any) -> list[bytes]:
        Writes.writes.append([self.encoder.encode(args[0])])
        return super().pack_command(*args)

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        commands = [tuple(c) for c in commands]
        packed = super().pack_commands(commands)
        del Writes.writes[-len(commands):]  # pack_commands packs each through pack_command
        Writes.writes.append([self.encoder.encode(c[0]) for c in commands])
        return packed


@pytest.fixture
async def noted(redis: Redis) -> AsyncIterator[Redis]:
    client = Redis.from_pool(ConnectionPool.from_url(REDIS_URL, connection_class=Writes))
    Writes.writes.clear()
    yield client
    await client.aclose()


async def test_the_calls_of_one_turn_go_in_one_write_and_each_gets_its_own_reply(noted: Redis, keys: Keys
                                                                                  ) -> None:
    batches = ScriptBatches(noted, register_script(noted, COUNT))
    counter = keys.prefix + "test:count"
    assert await batches.run([counter], ["known"]) == b"1 known"  # the server learns the script
    Writes.writes.clear()
    replies = await asyncio.gather(*(batches.run([counter], [f"c{i}"]) for i in range(10)))
    assert [r.decode() for r in replies] == [f"{n} c{n - 2}" for n in range(2, 12)]  # in the order asked
    assert Writes.writes == [[b"EVALSHA"] * 10]
    assert int(await noted.get(counter)) == 11


async def test_one_call_s_error_is_its_own(noted: Redis, keys: Keys) -> None:
    batches = ScriptBatches(noted, register_script(noted, COUNT))
    counter = keys.prefix + "test:count"
    await noted.delete(counter)
    found = await asyncio.gather(batches.run([counter], ["a"]), batches.run([counter], ["fail"]),
                                 batches.run([counter], ["b"]), return_exceptions=True)
    assert found[0] == b"1 a" and found[2] == b"2 b"
    assert isinstance(found[1], ResponseError) and "asked to fail" in str(found[1])


async def test_a_server_that_forgot_the_script_runs_each_call_once(noted: Redis, keys: Keys) -> None:
    batches = ScriptBatches(noted, register_script(noted, COUNT))
    counter = keys.prefix + "test:count"
    await noted.delete(counter)
    await noted.script_flush()
    replies = await asyncio.gather(*(batches.run([counter], [f"c{i}"]) for i in range(5)))
    assert [r.decode() for r in replies] == [f"{n} c{n - 1}" for n in range(1, 6)]  # still in the order asked
    assert int(await noted.get(counter)) == 5  # NOSCRIPT ran nothing: none ran twice
    assert await batches.run([counter], ["after"]) == b"6 after"


async def test_an_outage_reaches_every_caller_of_the_batch() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    batches = ScriptBatches(down, register_script(down, COUNT))
    try:
        found = await asyncio.gather(*(batches.run(["k"], [str(i)]) for i in range(3)), return_exceptions=True)
        assert len(found) == 3 and all(isinstance(f, RedisConnectionError) for f in found), found
    finally:
        await down.aclose()
