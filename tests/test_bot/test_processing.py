"""From stored webhook to handled events: every event once, each shopper's events in order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import defaultdict

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.runtime import Runtime
from bot.settings import Settings
from tests.conftest import REDIS_URL
from tests.support import recording
from tests.support.processes import end_process
from tests.support.webhooks import comment_change, message_item, messaging_body, now_ms, signed


@pytest.fixture
def runtime(settings: Settings, redis: Redis) -> Runtime:
    rt = Runtime(settings, redis)
    rt.registry.include(recording.registry)
    return rt


@pytest.fixture
async def client(serve, settings: Settings, redis: Redis, runtime: Runtime) -> TestClient:
    return await serve(create_app(settings, redis, runtime=runtime, run_workers=False))


async def post(client: TestClient, settings: Settings, body: dict) -> int:
    raw, headers = signed(body, settings.app_secret.reveal())
    return (await client.post("/webhook", data=raw, headers=headers)).status


async def handled(redis: Redis, keys: Keys) -> list[str]:
    return [x.decode() for x in await redis.lrange(recording.handled_key(keys), 0, -1)]


async def test_every_event_of_a_batched_post_is_handled(client: TestClient, settings: Settings, redis: Redis,
                                                        keys: Keys, runtime: Runtime) -> None:
    p = settings.page_id
    body = messaging_body(p, message_item(p, "1", "a", mid="m1"), message_item(p, "2", "b", mid="m2"))
    body["entry"].append({"id": p, "time": now_ms() // 1000,
                          "changes": [comment_change("p_1", "c_1", "55", "LIVE"),
                                      {"field": "live_videos", "value": {"id": "v1", "status": "live"}}]})
    body["entry"].append({"id": p, "time": now_ms(), "standby": [message_item(p, "3", "c", mid="m3")]})
    body["entry"].append({"id": p, "time": now_ms(), "messaging": [
        {"sender": {"id": "1"}, "recipient": {"id": p}, "timestamp": now_ms(),
         "read": {"watermark": 1767261700000}},
        {"sender": {"id": "1"}, "recipient": {"id": p}, "timestamp": now_ms(), "mystery": {}},
    ]})
    assert await post(client, settings, body) == 200
    await runtime.drain()
    got = sorted(await handled(redis, keys))
    assert got == sorted(["u:1 mid:m1 a", "u:2 mid:m2 b", "c:55 cmt:c_1:add ", "v:v1 live:v1:live ",
                          "u:3 sb:mid:m3 ", "u:1 read:1:1767261700000 "])
    metrics = await (await client.get("/metrics")).text()
    assert f'salebell_events_total{{kind="message",page="{settings.page_id}"}} 2.0' in metrics
    assert f'salebell_events_total{{kind="standby",page="{settings.page_id}"}} 1.0' in metrics
    assert f'salebell_events_rejected_total{{page="{settings.page_id}",reason="unknown_kind"}} 1.0' in metrics


async def test_the_same_post_twice_is_handled_once(client: TestClient, settings: Settings, redis: Redis,
                                                   keys: Keys, runtime: Runtime) -> None:
    p = settings.page_id
    body = messaging_body(p, message_item(p, "1", "hello", mid="m_dup"))
    body["entry"].append({"id": p, "time": now_ms() // 1000, "changes": [comment_change("p_1", "c_9", "55", "x")]})
    assert await post(client, settings, body) == 200
    await runtime.drain()
    assert await post(client, settings, body) == 200  # Meta's retry
    await runtime.drain()
    assert sorted(await handled(redis, keys)) == ["c:55 cmt:c_9:add ", "u:1 mid:m_dup hello"]
    metrics = await (await client.get("/metrics")).text()
    assert f'salebell_events_total{{kind="message",page="{settings.page_id}"}} 1.0' in metrics


async def test_events_of_one_shopper_stay_in_order_across_consumers(client: TestClient, settings: Settings,
                                                                    redis: Redis, keys: Keys) -> None:
    p = settings.page_id
    shoppers = [str(100 + i) for i in range(8)]
    per_shopper = 25
    for n in range(per_shopper):  # interleaved, several events of several shoppers per POST
        items = [message_item(p, s, f"jitter {n}", mid=f"m_{s}_{n}") for s in shoppers]
        assert await post(client, settings, messaging_body(p, *items)) == 200
    consumers = []
    for _ in range(4):
        rt = Runtime(settings, redis)
        rt.registry.include(recording.registry)
        consumers.append(rt)
    for rt in consumers:
        await rt.start()
    try:
        await wait_for(lambda: count(redis, keys), len(shoppers) * per_shopper)
    finally:
        for rt in consumers:
            await rt.stop()
    by_shopper: dict[str, list[int]] = defaultdict(list)
    for line in await handled(redis, keys):
        key, _, text = line.split(" ", 2)
        by_shopper[key].append(int(text.split()[1]))
    assert len(by_shopper) == len(shoppers)
    for key, seq in by_shopper.items():
        assert seq == list(range(per_shopper)), key
    assert int(await redis.get(recording.overlap_key(keys)) or 0) == 0


async def test_a_consumer_killed_mid_event_is_finished_by_another_exactly_once(
        client: TestClient, settings: Settings, redis: Redis, keys: Keys, runtime: Runtime) -> None:
    p = settings.page_id
    body = messaging_body(p, message_item(p, "7", "first", mid="k1"), message_item(p, "7", "SLOW", mid="k2"),
                          message_item(p, "7", "third", mid="k3"))
    assert await post(client, settings, body) == 200
    env = {**os.environ, "REDIS_URL": REDIS_URL, "FB_PAGE_ID": p, "SALEBELL_PLUGINS": "tests.support.recording",
           "RECORDING_SLOW_TEXT": "SLOW", "LEASE_SECONDS": "1", "RECLAIM_IDLE_SECONDS": "0.5"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "worker", env=env,
                                                  stdout=asyncio.subprocess.DEVNULL,
                                                  stderr=asyncio.subprocess.DEVNULL)
    try:
        await wait_for(lambda: redis.exists(keys.prefix + "test:slow-started"), 1, timeout=20)
    finally:
        await end_process(worker, signal.SIGKILL)
    assert await handled(redis, keys) == ["u:7 mid:k1 first"]
    await redis.delete(recording.inflight_key(keys, "u:7"))  # the killed handler never reached its finally
    await runtime.drain(timeout=15)
    assert await handled(redis, keys) == ["u:7 mid:k1 first", "u:7 mid:k2 SLOW", "u:7 mid:k3 third"]
    metrics = await (await client.get("/metrics")).text()
    assert f'salebell_events_total{{kind="message",page="{settings.page_id}"}} 3.0' in metrics


async def test_a_failing_handler_is_dead_lettered_and_does_not_block_the_shopper(
        client: TestClient, settings: Settings, redis: Redis, keys: Keys, runtime: Runtime) -> None:
    @runtime.registry.on("message")
    async def explode(event) -> None:  # type: ignore[no-untyped-def]
        if event.text == "boom":
            raise RuntimeError("handler bug")

    p = settings.page_id
    body = messaging_body(p, message_item(p, "8", "boom", mid="b1"), message_item(p, "8", "after", mid="b2"))
    assert await post(client, settings, body) == 200
    await runtime.drain()
    assert (await handled(redis, keys))[-1] == "u:8 mid:b2 after"
    dead = await redis.xrange(keys.dead_letters)
    assert len(dead) == 1 and b"handler bug" in dead[0][1][b"error"]
    metrics = await (await client.get("/metrics")).text()
    assert f'salebell_events_failed_total{{kind="message",page="{settings.page_id}"}} 1.0' in metrics


async def count(redis: Redis, keys: Keys) -> int:
    return int(await redis.llen(recording.handled_key(keys)))


async def wait_for(probe, expected: int, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := int(await probe())) < expected:
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout}s: {value} < {expected}")
        await asyncio.sleep(0.02)


async def test_stop_waits_for_a_loop_it_cancels_before_closing_the_clients(settings: Settings, redis: Redis) -> None:
    """A loop still running after the grace is cancelled, and its cleanup still uses the runtime's clients
    (the send worker closes its own tasks, a cancelled send refunds its take): stop waits for it, bounded,
    before closing them. It returned at once: a send-limit connection used after that reconnected, left open."""
    runtime = Runtime(settings, redis)
    seen: list[bool] = []

    async def slow_to_stop(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)  # deaf to the stop event: cancelled after the grace
        finally:
            await asyncio.sleep(0.05)  # its cleanup takes a moment
            seen.append(runtime.graph is not None)  # the Graph client, closed last, still open

    runtime.add_background(slow_to_stop)
    await runtime.start()
    await runtime.stop(grace=0.5)
    assert seen == [True]
