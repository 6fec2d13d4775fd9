"""Small helpers shared by the stream consumers (inbox splitters, send workers) and background loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

T = TypeVar("T")


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def is_nogroup(exc: BaseException) -> bool:
    """Redis answered that the stream or its consumer group does not exist (it lost its data, or a new one)."""
    return isinstance(exc, ResponseError) and str(exc).startswith("NOGROUP")


async def recreating_group(redis: Redis, streams: str | Sequence[str], group: str,
                           call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` (an XREADGROUP, XAUTOCLAIM, XCLAIM or XACK on ``streams``); on NOGROUP, create the
    group again and repeat it once.

    A Redis that comes back empty (a new instance, lost data, a failover to an empty replica) has no
    consumer groups: without this a consumer would read nothing, forever. Logged once per loss.
    """
    try:
        return await call()
    except ResponseError as exc:
        if not is_nogroup(exc):
            raise
    names = [streams] if isinstance(streams, str) else list(streams)
    log.warning("consumer group %s on %s was missing (Redis lost its data?); created again", group, ", ".join(names))
    for stream in names:
        await ensure_group(redis, stream, group)
    return await call()


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
