"""Shared fixtures: a real Redis (``REDIS_URL``, default db 15 of the local server) and a Page per test."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.runtime import Runtime
from bot.server import Timeouts
from bot.settings import Settings
from bot.storage import connect
from salebell import testing
from salebell.testing import OPTIN_TITLE, TOPIC, SandboxBot, delete_page_keys, serve_app  # noqa: F401 (re-exported)
from tests.support.open_connections import open_connections
from tests.support.redis_cluster import RedisClusterProcesses
from tests.support.redis_server import free_port

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
REDIS_CLUSTER = (os.environ.get("REDIS_CLUSTER") or "").lower() in ("1", "true", "yes")  # REDIS_URL names a node


@pytest.fixture
def page_id() -> str:
    """A fresh Page id per test, so tests never see each other's keys."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(14))


@pytest.fixture
def keys(page_id: str) -> Keys:
    return Keys(page_id)


TEARDOWN_SECONDS = 30.0
SLOW_TEARDOWN_SECONDS = 5.0


async def bounded(step: Awaitable[Any], what: str, seconds: float = TEARDOWN_SECONDS) -> None:
    """Await a teardown step; if it hangs, fail the test with every task's stack instead of hanging the run.

    A step slower than ``SLOW_TEARDOWN_SECONDS`` also reports the stacks as it goes (to stderr, or
    appended to ``$SALEBELL_TEARDOWN_LOG``), since a step may swallow the cancellation that ends it.
    """
    watchdog = asyncio.create_task(_report_if_slow(what, SLOW_TEARDOWN_SECONDS))
    try:
        async with asyncio.timeout(seconds):
            await asyncio.ensure_future(step)  # a task of its own, so the report can walk its awaits
    except TimeoutError:
        pytest.fail(f"teardown step {what!r} hung for {seconds:.0f}s; tasks:\n{task_stacks()}")
    finally:
        watchdog.cancel()


async def _report_if_slow(what: str, after: float) -> None:
    await asyncio.sleep(after)
    _write_report(f"\nteardown step {what!r} still running after {after:.0f}s; tasks:\n{task_stacks()}\n")


def task_stacks() -> str:
    """Every task's chain of awaits, down to the future it waits on (``Task.get_stack`` shows one frame)."""
    stacks = []
    for task in asyncio.all_tasks():
        lines = [f"task {task.get_name()}:"]
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is None:
                lines.append(f"  waiting on {awaited!r}"[:300])
                break
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        stacks.append("\n".join(lines))
    return "\n".join(stacks)


SLOW_TEST_SECONDS = float(os.environ.get("SALEBELL_SLOW_TEST_SECONDS") or 60)
_test_loop: list[asyncio.AbstractEventLoop] = []  # the loop of the running test (set by the redis fixture)
_test_clients: list[Redis] = []  # the running test's clients whose connections must all be closed at its end


def watch_connections(client: Redis) -> Redis:
    """Fail the running test if a connection of ``client`` is still open once its fixtures are torn down
    (``no_redis_connection_left_open``); the ``redis`` fixture's client is watched."""
    _test_clients.append(client)
    return client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """A test (setup to teardown) still running after a minute reports its loop's tasks, once."""
    _test_loop.clear()
    timer = threading.Timer(SLOW_TEST_SECONDS, _report_slow_test, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture(autouse=True)
def _redis_connections_checked(request: pytest.FixtureRequest) -> None:
    """A test using Redis gets ``no_redis_connection_left_open`` before any other fixture (the sync
    browser tests, which run a loop of their own, get no async fixture)."""
    if "redis" in request.fixturenames:
        request.getfixturevalue("no_redis_connection_left_open")


@pytest.fixture
async def no_redis_connection_left_open() -> AsyncIterator[None]:
    """Once the test's other fixtures are torn down (this one is set up first, so it is torn down after
    them), none of the connections of its watched clients (:func:`watch_connections`: the ``redis``
    fixture's, ...) may be open.

    One still open was used after its client was closed (by a server or a task that outlived it) and
    reconnected: it is closed here and the test fails, rather than leaving the socket to the garbage
    collector, which would report it in whichever later test runs when it collects.
    """
    _test_clients.clear()
    yield
    clients, _test_clients[:] = list(_test_clients), []
    left = [conn for client in clients for conn in open_connections(client)]
    for conn in left:
        await conn.disconnect()
    if left:
        pytest.fail(f"{len(left)} Redis connection(s) of the test's clients reconnected after the client was "
                    f"closed (used by something that outlived it): {left}", pytrace=False)


def _report_slow_test(nodeid: str) -> None:
    """From the timer thread: an idle (waiting) loop runs the report; a blocked one never would."""
    for loop in list(_test_loop):
        if not loop.is_closed():
            loop.call_soon_threadsafe(lambda: _write_report(f"\n{nodeid} still running after "
                                                            f"{SLOW_TEST_SECONDS:.0f}s; tasks:\n{task_stacks()}\n"))


def _write_report(report: str) -> None:
    path = os.environ.get("SALEBELL_TEARDOWN_LOG")  # pytest captures stderr: a file survives a passing test
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(report)
    else:
        print(report, file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """A local three-master Redis Cluster for the session (started only by the tests that ask for it)."""
    cluster = RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
async def redis(keys: Keys) -> AsyncIterator[Redis]:
    _test_loop.append(asyncio.get_running_loop())
    client = watch_connections(connect(REDIS_URL, cluster=REDIS_CLUSTER))
    if REDIS_CLUSTER:
        await client.ping()  # the cluster client meets the nodes (as `serve` and `worker` do at start-up)
    yield client
    await bounded(delete_page_keys(client, keys), "delete the page's keys")
    await bounded(client.aclose(), "close Redis")


@pytest.fixture
def aiohttp_server(redis: Redis, aiohttp_server: Any) -> Any:
    """pytest-aiohttp's ``aiohttp_server``, its servers stopped before the test's Redis closes (see ``serve``):
    ``redis`` is set up first, so it is torn down last."""
    return aiohttp_server


@pytest.fixture
def settings(page_id: str) -> Settings:
    """Production-shaped settings (sandbox off) on the test Redis, with short leases."""
    return Settings(sandbox=False, page_id=page_id, redis_url=REDIS_URL, lease_seconds=1.0,
                    reclaim_idle_seconds=0.5, worker_concurrency=16)


@pytest.fixture
async def serve(redis: Redis) -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    """Serve an app on a real loopback port as ``salebell serve`` does (bot.server); returns a client.

    It asks for ``redis`` so that it is torn down first: an app uses the test's Redis until its cleanup
    has run (the sandbox's receipt pump, the inbox writers), as ``salebell serve`` stops its app before
    closing Redis. A command after the client's close reconnects a pooled connection that nothing closes.
    """
    clients: list[TestClient] = []

    async def start(app: web.Application, port: int | None = None, timeouts: Timeouts = Timeouts()) -> TestClient:
        client = await serve_app(app, port, timeouts)
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await bounded(client.close(), "close the test server")


def sandbox_settings(page_id: str, port: int, **overrides: Any) -> Settings:
    """:func:`salebell.testing.sandbox_settings` on the test Redis."""
    return testing.sandbox_settings(page_id, port, REDIS_URL, **overrides)


@pytest.fixture
async def sandbox_bot(serve, redis: Redis, page_id: str) -> AsyncIterator[SandboxBot]:
    port = free_port()
    settings = sandbox_settings(page_id, port)
    runtime = Runtime(settings, redis)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False), port=port)
    yield SandboxBot(client, runtime, settings)
    await bounded(runtime.stop(), "stop the runtime")
