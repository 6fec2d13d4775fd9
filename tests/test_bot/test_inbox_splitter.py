"""The inbox splitter on real Redis: a busy splitter does not ask for its lease on every step (issue 10),
and assuming it still holds the lease never lets it commit after losing it."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.inbox import BODY, InboxSplitter
from bot.keys import Keys
from bot.queues import ShopperQueues
from tests.support.webhooks import message_item, messaging_body


async def add_body(redis: Redis, keys: Keys, n: int) -> None:
    body = messaging_body(keys.page_id, message_item(keys.page_id, f"71{n:06d}", "LIVE", mid=f"m_split_{n}"))
    await redis.xadd(keys.inbox, {BODY: json.dumps(body).encode()})


async def test_a_splitter_that_renewed_its_lease_lately_reads_without_asking_and_its_commit_stays_fenced(
        redis: Redis, keys: Keys) -> None:
    """Step 1 takes the lease and splits. Another process then takes the lease (as after an expiry). Step 2,
    within a quarter of the lease, does not ask for it: it reads and tries to commit, which the lease fences
    (0 consumed, the entry left). Step 3 asks (its commit was refused) and finds the lease held (-1). The
    new holder splits the entry once."""
    queues = ShopperQueues(redis, keys)
    a = InboxSplitter(redis, keys, queues, "a", lease_ms=60_000)
    await add_body(redis, keys, 1)
    assert await a.step() == 1
    await redis.delete(keys.splitter_lease)
    b = InboxSplitter(redis, keys, queues, "b", lease_ms=60_000)
    assert await queues.hold_splitter("b", 60_000) is not None
    await add_body(redis, keys, 2)
    assert await a.step() == 0  # asked, it would be -1: it read and its commit was refused
    assert await redis.xlen(keys.inbox) == 1
    assert await a.step() == -1  # the refusal made it ask again
    assert await b.step() == 1
    assert await redis.xlen(keys.inbox) == 0
    assert await redis.llen(keys.queue("u:71000002")) == 1


async def test_a_splitter_asks_for_its_lease_again_after_a_quarter_of_it(redis: Redis, keys: Keys) -> None:
    """With a lease of 40 ms, a step 20 ms after the last renewal asks (-1 while another holds it)."""
    queues = ShopperQueues(redis, keys)
    a = InboxSplitter(redis, keys, queues, "a", lease_ms=40)
    await add_body(redis, keys, 3)
    assert await a.step() == 1
    await redis.set(keys.splitter_lease, "b", px=60_000)
    await asyncio.sleep(0.02)
    assert await a.step() == -1


async def test_a_commit_that_queued_events_tells_the_process_and_one_of_repeats_only_does_not(
        redis: Redis, keys: Keys) -> None:
    """The runtime's consumer is woken by its own splitter (issue 10: claimed without waiting for a poll)."""
    queues = ShopperQueues(redis, keys)
    a = InboxSplitter(redis, keys, queues, "a", lease_ms=60_000)
    told: list[int] = []
    a.on_queued = lambda: told.append(1)
    await add_body(redis, keys, 4)
    assert await a.step() == 1 and told == [1]
    await add_body(redis, keys, 4)  # Meta's retry of the same message: dropped by its dedupe mark
    assert await a.step() == 1 and told == [1]


async def test_the_runtime_wires_its_splitter_to_wake_its_consumer(redis: Redis, page_id: str) -> None:
    from bot.runtime import Runtime
    from tests.test_live_sales.conftest import shop_settings

    runtime = Runtime(shop_settings(page_id), redis)
    assert runtime.splitter.on_queued == runtime.consumer.wake
    stop = asyncio.Event()
    runtime.consumer.wake()
    await asyncio.wait_for(runtime.consumer._idle(stop, 600), timeout=30)  # woken: it does not wait the 600 s
