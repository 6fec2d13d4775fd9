"""The bounded pool (bot/redis_pool.py) on a real Redis: never more connections than its bound, a command that
finds none free waits in line and gets one, or fails after the timeout; a cancelled waiter costs no one else.
Its connections pack commands with hiredis, to the bytes redis-py would send."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError

from bot.redis_pool import BoundedPool, PackedConnection, PackedUnixConnection
from bot.storage import connect
from tests.conftest import REDIS_URL


def client(max_connections: int, timeout: float = 5.0) -> Redis:
    return Redis.from_pool(BoundedPool.from_url(REDIS_URL, max_connections=max_connections, timeout=timeout))


async def connections_named(watcher: Redis, name: str) -> int:
    return sum(1 for c in await watcher.client_list() if c.get("name") == name)


async def test_the_deployment_client_uses_the_bounded_pool() -> None:
    redis = connect(REDIS_URL, max_connections=3)
    try:
        assert isinstance(redis.connection_pool, BoundedPool) and redis.connection_pool.max_connections == 3
        assert await redis.ping()
    finally:
        await redis.aclose()


async def test_a_burst_waits_for_the_bounded_connections_and_every_command_is_answered() -> None:
    name = "pool-" + secrets.token_hex(4)
    redis, watcher = client(2), Redis.from_url(REDIS_URL)
    await redis.client_setname(name)  # each new connection says its name (the pool's connection kwargs)
    redis.connection_pool.connection_kwargs["client_name"] = name
    key = "test:pool:" + name
    try:
        most = 0

        async def watch() -> None:
            nonlocal most
            while True:
                most = max(most, await connections_named(watcher, name))
                await asyncio.sleep(0.005)

        watching = asyncio.create_task(watch())
        # each BLPOP holds its connection for 50 ms: 20 of them need ten turns of two connections
        answers = await asyncio.gather(*(redis.blpop([key], timeout=0.05) for _ in range(20)))
        watching.cancel()
        assert answers == [None] * 20
        assert 1 <= most <= 2
        assert len(redis.connection_pool._in_use_connections) == 0
    finally:
        await redis.aclose()
        await watcher.aclose()


async def test_no_free_connection_within_the_timeout_is_a_connection_error() -> None:
    redis = client(1, timeout=0.1)
    key = "test:pool:" + secrets.token_hex(4)
    try:
        holding = asyncio.create_task(redis.blpop([key], timeout=1))
        await asyncio.sleep(0.05)
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await redis.ping()
        assert await holding is None
        assert await redis.ping()  # free again
    finally:
        await redis.aclose()


async def test_waiters_are_served_in_line_and_a_cancelled_one_passes_its_turn_on() -> None:
    redis = client(1)
    key = "test:pool:" + secrets.token_hex(4)
    order: list[int] = []
    try:
        holding = asyncio.create_task(redis.blpop([key], timeout=0.2))
        await asyncio.sleep(0.05)

        async def ping(n: int) -> None:
            await redis.ping()
            order.append(n)

        first = asyncio.create_task(ping(1))
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(ping(2))
        await asyncio.sleep(0)
        third = asyncio.create_task(ping(3))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await asyncio.wait_for(asyncio.gather(holding, first, third), 5)
        assert order == [1, 3] and cancelled.cancelled()
        assert not redis.connection_pool._waiters
    finally:
        await redis.aclose()


@pytest.mark.parametrize("args", [
    ("SET", "k", "value"), ("CLIENT SETNAME", "x"), ("EVALSHA", "abc", 2, "ké", b"\xff\x00", 7, -3),
    ("SET", "k", 1.5), ("SET", "k", 1e-05), ("SET", "k", 0.1 + 0.2), ("HSET", "h", "n", 12345678901234567890),
    ("SET", "k", bytearray(b"ab")), ("SET", "k", memoryview(b"cd")),
])
def test_commands_pack_to_the_bytes_redis_py_would_send(args: tuple[object, ...]) -> None:
    ours = PackedConnection().pack_command(*args)
    theirs = Connection().pack_command(*args)
    assert b"".join(ours) == b"".join(bytes(part) for part in theirs)


@pytest.mark.parametrize("bad", [None, True, {"a": 1}])
def test_what_cannot_be_packed_is_the_data_error_redis_py_raises(bad: object) -> None:
    with pytest.raises(DataError):
        Connection().pack_command("SET", "k", bad)
    with pytest.raises(DataError):
        PackedConnection().pack_command("SET", "k", bad)


def test_a_lone_surrogate_is_the_same_unicode_error() -> None:
    for connection in (Connection(), PackedConnection()):
        with pytest.raises(UnicodeEncodeError):
            connection.pack_command("SET", "k", "half an emoji \ud83d")


async def test_the_pool_makes_packed_connections_for_tcp_and_unix_sockets() -> None:
    assert BoundedPool.from_url(REDIS_URL).connection_class is PackedConnection
    assert BoundedPool.from_url("unix:///tmp/redis.sock").connection_class is PackedUnixConnection
    redis = client(2)
    try:
        await redis.set("test:pool:packed", "ké")
        assert await redis.get("test:pool:packed") == "ké".encode()
    finally:
        await redis.delete("test:pool:packed")
        await redis.aclose()


async def test_a_redis_that_stops_answering_times_out_through_the_watchdog_and_the_pool_carries_on() -> None:
    """No timer per call (issue 10): the pool's watchdog aborts a connection stuck waiting past
    ``socket_timeout``, and the call raises redis-py's TimeoutError. A server that accepts and never answers
    stands in for a hung Redis (a stopped process, a lost network); then the real Redis answers again."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    held: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hung = Redis.from_pool(BoundedPool.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=0.4,
                                                socket_connect_timeout=0.4, max_connections=2))
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(RedisTimeoutError):
            await hung.get("k")
        waited = asyncio.get_running_loop().time() - started
        assert 0.4 <= waited < 2.0, waited  # the timeout, and at most a quarter of it (plus a loaded machine)
        with pytest.raises(RedisTimeoutError):  # a pipeline too, on a fresh connection
            async with hung.pipeline(transaction=False) as pipe:
                pipe.get("a")
                pipe.get("b")
                await pipe.execute()
    finally:
        await hung.aclose()
        server.close()
        for writer in held:
            writer.close()
    redis = connect(REDIS_URL, max_connections=2)
    try:
        connection = await redis.connection_pool.get_connection()
        assert isinstance(connection, PackedConnection) and connection.socket_timeout is None  # no timers
        assert connection.watched_timeout == 5.0
        await redis.connection_pool.release(connection)
        assert await redis.ping()
    finally:
        await redis.aclose()


def test_a_pool_used_again_from_another_event_loop_is_watched_there_too() -> None:
    """The watchdog runs on the loop the pool is used from: a pool first used on one loop (closed since) and
    then on another still times out a server that stopped answering, rather than waiting for ever."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    async def serve_silently() -> tuple[asyncio.Server, list[asyncio.StreamWriter]]:
        held: list[asyncio.StreamWriter] = []

        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)
            while await reader.read(65536):
                pass
        return await asyncio.start_server(never_answer, "127.0.0.1", 0), held

    async def one_call(pool: BoundedPool) -> None:
        server, held = await serve_silently()
        pool.connection_kwargs["port"] = server.sockets[0].getsockname()[1]
        pool.reset()  # its connections are made afresh, to this loop's server (the watchdog is the pool's)
        client = Redis.from_pool(pool)
        try:
            with pytest.raises(RedisTimeoutError):
                await asyncio.wait_for(client.get("k"), timeout=10)
        finally:
            await pool.disconnect()
            server.close()
            for writer in held:
                writer.close()

    pool = BoundedPool.from_url("redis://127.0.0.1:1/0", socket_timeout=0.3, socket_connect_timeout=0.3,
                                max_connections=2)
    asyncio.run(one_call(pool))
    asyncio.run(one_call(pool))  # a new loop: without a watchdog here, wait_for's 10 s would raise instead
