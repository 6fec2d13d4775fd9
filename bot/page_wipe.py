"""Every key of one Page, as one SCAN pattern, and wiping them (tests, benchmarks, a sandbox reset)."""

from __future__ import annotations

from redis.asyncio import Redis

from .keys import Keys


def key_glob(text: str) -> str:
    """``text`` as a SCAN MATCH pattern matching itself literally (the Page prefix has braces)."""
    return "".join("\\" + c if c in "*?[]{}\\" else c for c in text)


async def delete_page_keys(redis: Redis, keys: Keys, batch: int = 5000) -> int:
    """Unlink every key of the Page; returns how many."""
    found: list[bytes] = []
    deleted = 0
    async for key in redis.scan_iter(match=key_glob(keys.prefix) + "*", count=batch):
        found.append(key)
        if len(found) >= batch:
            deleted += await redis.unlink(*found)
            found.clear()
    if found:
        deleted += await redis.unlink(*found)
    return deleted
