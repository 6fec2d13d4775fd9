"""Redis outages and the embedded Redis: nothing accepted is lost, nothing refused is claimed stored."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app import create_app
from bot.keys import Keys
from bot.runtime import Runtime
from bot.settings import SANDBOX_APP_SECRET, Settings
from bot.storage import EmbeddedRedis, connect, open_redis
from bot.webhook import InboxWriter
from tests.support import recording
from tests.support.processes import end_process
from tests.support.redis_server import RedisProcess, free_port
from tests.support.webhooks import message_item, messaging_body, signed


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_redis_outage_answers_503_and_loses_nothing(serve, settings: Settings, keys: Keys,
                                                          private_redis: RedisProcess) -> None:
    redis = connect(private_redis.url)
    runtime = Runtime(settings, redis)
    runtime.registry.include(recording.registry)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False))
    p, secret = settings.page_id, settings.app_secret.reveal()
    before = signed(messaging_body(p, message_item(p, "1", "before", mid="o1")), secret)
    during = signed(messaging_body(p, message_item(p, "1", "during", mid="o2")), secret)
    assert (await client.post("/webhook", data=before[0], headers=before[1])).status == 200

    private_redis.stop()
    resp = await client.post("/webhook", data=during[0], headers=during[1])
    assert resp.status == 503
    assert (await client.get("/healthz")).status == 503

    private_redis.start()  # same port, same append-only file
    assert (await client.post("/webhook", data=during[0], headers=during[1])).status == 200  # Meta retries
    await runtime.drain()
    got = [x.decode() for x in await redis.lrange(recording.handled_key(keys), 0, -1)]
    assert got == ["u:1 mid:o1 before", "u:1 mid:o2 during"]
    await redis.aclose()


async def test_workers_survive_an_outage_and_resume(settings: Settings, keys: Keys,
                                                    private_redis: RedisProcess) -> None:
    redis = connect(private_redis.url)
    runtime = Runtime(settings, redis)
    runtime.registry.include(recording.registry)
    await runtime.start()
    try:
        private_redis.stop()
        await asyncio.sleep(0.6)  # the background loops meet the outage
        private_redis.start()
        p = settings.page_id
        raw, _ = signed(messaging_body(p, message_item(p, "2", "after outage", mid="r1")), "x")
        writer = InboxWriter(redis, keys.inbox)  # the webhook's own way in
        for _ in range(50):
            try:
                await writer.append(raw)
                break
            except (RedisError, OSError):
                await asyncio.sleep(0.1)
        await writer.aclose()
        for _ in range(200):
            if await redis.llen(recording.handled_key(keys)):
                break
            await asyncio.sleep(0.05)
        got = [x.decode() for x in await redis.lrange(recording.handled_key(keys), 0, -1)]
        assert got == ["u:2 mid:r1 after outage"]
    finally:
        await runtime.stop()
        await redis.aclose()


async def test_embedded_redis_keeps_data_across_a_restart(tmp_path: Path) -> None:
    redis, embedded = await open_redis(None, tmp_path)
    assert embedded is not None and embedded.started_here
    await redis.set("kept", "yes")
    await redis.xadd("stream", {"b": "body"})
    await redis.aclose()
    await embedded.stop()

    again = EmbeddedRedis(tmp_path)
    await again.ensure_running()
    assert again.started_here
    client = connect(again.url)
    try:
        assert await client.get("kept") == b"yes"
        assert await client.xlen("stream") == 1
    finally:
        await client.aclose()
        await again.stop()


async def test_webhook_to_handled_event_on_the_embedded_redis(serve, tmp_path: Path, page_id: str) -> None:
    settings = Settings(sandbox=False, page_id=page_id, data_dir=tmp_path, lease_seconds=1.0)
    redis, embedded = await open_redis(None, tmp_path)
    keys = Keys(page_id)
    try:
        runtime = Runtime(settings, redis)
        runtime.registry.include(recording.registry)
        client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False))
        raw, headers = signed(messaging_body(page_id, message_item(page_id, "5", "hi", mid="e1")),
                              settings.app_secret.reveal())
        assert (await client.post("/webhook", data=raw, headers=headers)).status == 200
        await runtime.drain()
        assert await redis.lrange(recording.handled_key(keys), 0, -1) == [b"u:5 mid:e1 hi"]
    finally:
        await redis.aclose()
        assert embedded is not None
        await embedded.stop()


# -- finding 11 of issue 8: stopping one user of the embedded Redis never stops it under another ---

async def answers(embedded: EmbeddedRedis) -> bool:
    client = connect(embedded.url)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def test_the_embedded_redis_stops_with_its_last_user_not_its_first(tmp_path: Path) -> None:
    first, first_server = await open_redis(None, tmp_path)
    second, second_server = await open_redis(None, tmp_path)
    assert first_server is not None and second_server is not None
    assert first_server.started_here and not second_server.started_here
    try:
        await first.aclose()
        await first_server.stop()  # the one that started it: the other still uses it
        assert await second.set("still", "here")
        assert await second.get("still") == b"here"
    finally:
        await second.aclose()
        await second_server.stop()  # the last user, though it did not start it
    assert not await answers(second_server)


async def start_salebell(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--log-level", "WARNING", *args,
                                                env=env, stdout=asyncio.subprocess.DEVNULL)


async def test_stopping_serve_web_only_leaves_the_embedded_redis_to_the_running_worker(tmp_path: Path,
                                                                                       page_id: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FB_PAGE_ACCESS_TOKEN")}
    env.update({"SALEBELL_DATA_DIR": str(tmp_path), "FB_PAGE_ID": page_id, "PORT": str(port),
                "SALEBELL_PLUGINS": "tests.support.recording", "LEASE_SECONDS": "1", "RECLAIM_IDLE_SECONDS": "1"})
    embedded = EmbeddedRedis(tmp_path)
    keys = Keys(page_id)
    web = await start_salebell("serve", "--web-only", env=env)  # starts the embedded Redis
    worker: asyncio.subprocess.Process | None = None
    client = None
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}")
        worker = await start_salebell("worker", env=env)  # reuses it
        client = connect(embedded.url)
        raw, headers = signed(messaging_body(page_id, message_item(page_id, "5", "before", mid="w1")),
                              SANDBOX_APP_SECRET)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/webhook", data=raw, headers=headers) as resp:
                assert resp.status == 200
        await wait_for_handled(client, keys, 1)

        assert await end_process(web) == 0
        assert await answers(embedded)  # the worker still uses it
        writer = InboxWriter(client, keys.inbox)  # the web process's way in, now that it is gone
        await writer.append(signed(messaging_body(page_id, message_item(page_id, "5", "after", mid="w2")),
                                   SANDBOX_APP_SECRET)[0])
        await writer.aclose()
        await wait_for_handled(client, keys, 2)
        assert await client.lrange(recording.handled_key(keys), 0, -1) == [b"u:5 mid:w1 before", b"u:5 mid:w2 after"]
        await client.aclose()
        client = None

        assert await end_process(worker) == 0
        assert not await answers(embedded)  # its last user stopped it: no orphan server left behind
    finally:
        if client is not None:
            await client.aclose()
        for proc in (web, worker):
            if proc is not None:
                await end_process(proc)
        if await answers(embedded):  # a failed run must not leave a server behind
            await _shutdown(embedded)


async def _shutdown(embedded: EmbeddedRedis) -> None:
    client = connect(embedded.url)
    try:
        await client.shutdown(nosave=True)
    except (RedisError, OSError):
        pass
    finally:
        await client.aclose()


async def wait_until_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(400):
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail("salebell serve did not come up")


async def wait_for_handled(client: Redis, keys: Keys, count: int) -> None:
    for _ in range(400):
        if await client.llen(recording.handled_key(keys)) >= count:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the worker did not handle {count} events")
