"""Small helpers shared by the stream consumers (inbox splitters, send workers) and background loops."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import ResponseError


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def group_backlog(redis: Redis, stream: str, group: str) -> int:
    """Entries the group has not finished: delivered and unacknowledged, plus not yet delivered."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return 0
    for info in groups:
        if info["name"] in (group, group.encode()):
            return int(info["pending"]) + int(info.get("lag") or 0)
    return 0


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
