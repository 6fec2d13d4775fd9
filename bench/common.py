"""Helpers the benchmarks share: a process's CPU time and clearing a Page's keys after a run."""

from __future__ import annotations

import os
from pathlib import Path

from redis.asyncio import Redis

from bot.keys import Keys


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc; 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def key_glob(text: str) -> str:
    """``text`` as a SCAN MATCH pattern matching itself literally (the Page prefix has braces)."""
    return "".join("\\" + c if c in "*?[]{}\\" else c for c in text)


async def delete_page_keys(redis: Redis, keys: Keys) -> int:
    """Unlink every key of the Page (a bench run's Page is its own); returns how many."""
    batch: list[bytes] = []
    deleted = 0
    async for key in redis.scan_iter(match=key_glob(keys.prefix) + "*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            deleted += await redis.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await redis.unlink(*batch)
    return deleted
