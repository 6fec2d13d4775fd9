"""The shared fixtures' own rules: what a test serves is stopped before the test's Redis client closes.

An app uses Redis until its cleanup has run (the sandbox's receipt pump every 100 ms, the inbox
writers, the runtime's stop), so ``serve`` and ``aiohttp_server`` are torn down before ``redis``: a
command sent after the client's close reconnects a pooled connection that nothing closes, and the
garbage collector later reports it in whichever test runs then.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from bot.keys import Keys
from bot.storage import connect
from tests.conftest import REDIS_CLUSTER, REDIS_URL
from tests.support.open_connections import open_connections


def app_reading_at_cleanup(redis: Redis, key: str) -> web.Application:
    """An app whose cleanup reads ``key``, which the ``redis`` fixture deletes when it closes the client."""

    async def cleanup(app: web.Application) -> None:
        assert await redis.get(key) == b"set by the test", "the test's Redis was closed before the app stopped"

    app = web.Application()
    app.on_cleanup.append(cleanup)
    return app


async def test_a_served_app_stops_before_the_tests_redis_closes(serve: Any, redis: Redis, keys: Keys) -> None:
    key = keys.prefix + "fixture-order"
    await redis.set(key, "set by the test")
    await serve(app_reading_at_cleanup(redis, key))


async def test_an_aiohttp_server_stops_before_the_tests_redis_closes(aiohttp_server: Any, redis: Redis,
                                                                      keys: Keys) -> None:
    key = keys.prefix + "fixture-order"
    await redis.set(key, "set by the test")
    await aiohttp_server(app_reading_at_cleanup(redis, key))


async def test_a_command_after_the_close_leaves_a_connection_open(keys: Keys) -> None:
    """What the check after each test looks for (redis-py reconnects a closed client's pooled connection)."""
    client = connect(REDIS_URL, cluster=REDIS_CLUSTER)
    await client.ping()
    await client.aclose()
    assert open_connections(client) == []
    await client.exists(keys.prefix + "nothing")
    assert len(open_connections(client)) == 1
    await client.aclose()
    assert open_connections(client) == []
