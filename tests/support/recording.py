"""A plugin for tests: handlers that record what they handled in Redis.

Loaded into worker subprocesses with ``SALEBELL_PLUGINS=tests.support.recording``.
With ``RECORDING_SLOW_TEXT`` set, a message with that text makes the handler
announce it started and then hang, so a test can kill the process mid-event.
"""

from __future__ import annotations

import asyncio
import os

from redis.asyncio import Redis

from bot.events import Event, MessageEvent
from bot.handlers import HandlerRegistry
from bot.keys import Keys
from bot.plugins import Plugin

registry = HandlerRegistry()


def handled_key(keys: Keys) -> str:
    return keys.prefix + "test:handled"


def inflight_key(keys: Keys, ordering_key: str) -> str:
    return keys.prefix + "test:inflight:" + ordering_key


def overlap_key(keys: Keys) -> str:
    return keys.prefix + "test:overlaps"


@registry.on("*")
async def record(event: Event, redis: Redis, keys: Keys) -> None:
    """Append "<ordering key> <dedupe key> <text>" to a list; flag overlapping handling of one shopper."""
    if not await redis.set(inflight_key(keys, event.ordering_key), "1", nx=True, ex=30):
        await redis.incr(overlap_key(keys))
    try:
        text = event.text if isinstance(event, MessageEvent) else ""
        slow = os.environ.get("RECORDING_SLOW_TEXT")
        if slow and text == slow:
            await redis.set(keys.prefix + "test:slow-started", "1")
            await asyncio.sleep(3600)
        if isinstance(event, MessageEvent) and text and text.startswith("jitter"):
            await asyncio.sleep(0.001 * (hash(event.mid) % 5))
        await redis.rpush(handled_key(keys), f"{event.ordering_key} {event.dedupe_key} {text}")
    finally:
        await redis.delete(inflight_key(keys, event.ordering_key))


plugin = Plugin(name="recording", registry=registry)
