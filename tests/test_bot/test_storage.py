"""Redis outages and the embedded Redis: nothing accepted is lost, nothing refused is claimed stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import RedisError

from bot.app import create_app
from bot.webhook import InboxWriter
from bot.keys import Keys
from bot.runtime import Runtime
from bot.settings import Settings
from bot.storage import EmbeddedRedis, connect, open_redis
from tests.support import recording
from tests.support.redis_server import RedisProcess
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
