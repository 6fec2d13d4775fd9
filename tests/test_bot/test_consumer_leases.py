"""A consumer keeps the lease of every shopper it holds with one heartbeat (bot/consumer.py), on a real Redis:
an event handled for longer than the lease is neither taken by another consumer nor handled twice, and
the lease of a shopper a consumer no longer holds is left to expire."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.consumer import EventConsumer
from bot.events import MessageEvent, RawItem
from bot.handlers import HandlerRegistry
from bot.keys import Keys
from bot.queues import Queued, ShopperQueues
from tests.support.webhooks import message_item

LEASE_MS = 900  # the heartbeat beats every 300 ms


def queued(page_id: str, psid: str, text: str) -> Queued:
    item = RawItem(page_id=page_id, source="messaging", entry_time=1, item=message_item(page_id, psid, text))
    return Queued(ordering_key=f"u:{psid}", dedupe_key=f"mid:{psid}:{text}", payload=item.to_json(),
                  item_id=f"1-0.{text}")


async def test_a_long_handler_keeps_its_lease_and_runs_once(redis: Redis, keys: Keys) -> None:
    queues = ShopperQueues(redis, keys, lease_ms=LEASE_MS)
    handled: list[str] = []
    registry = HandlerRegistry()

    @registry.on("message")
    async def slow(event: MessageEvent) -> None:
        handled.append(event.text or "")
        await asyncio.sleep(3 * LEASE_MS / 1000)  # three leases long

    await queues.enqueue([queued(keys.page_id, "42", "one"), queued(keys.page_id, "42", "two")])
    first = EventConsumer(redis, keys, queues, registry, {}, name="first", concurrency=4)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    try:
        while not handled:  # the first consumer holds the shopper
            await asyncio.sleep(0.01)
        stolen = []
        for _ in range(100):  # another consumer tries all along: the shopper is never free for it
            claimed, _ = await queues.claim("second", 4)
            stolen += [lease.ordering_key for lease in claimed]
            await asyncio.sleep(0.1)
            if len(handled) == 2 and not await redis.zcard(keys.leases):
                break
        assert stolen == [] and handled == ["one", "two"]
        assert json.loads(json.dumps(await queues.backlog())) == {"ready": 0, "leased": 0}
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_the_heartbeat_extends_only_the_leases_it_holds(redis: Redis, keys: Keys) -> None:
    queues = ShopperQueues(redis, keys, lease_ms=LEASE_MS)
    await queues.enqueue([queued(keys.page_id, "7", "a"), queued(keys.page_id, "8", "b")])
    claimed, _ = await queues.claim("mine", 10)
    assert sorted(lease.ordering_key for lease in claimed) == ["u:7", "u:8"]
    await redis.hset(keys.lease_owners, "u:8", "someone-else")  # expired and taken meanwhile
    assert await queues.extend("mine", ["u:7", "u:8", "u:9"]) == ["u:8", "u:9"]
    assert await queues.extend("mine", []) == []
