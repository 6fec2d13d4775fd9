"""Live sales and blasts in Redis: create, read, list, and the atomic status changes.

Indexes (``bot/keys.py``, "live sales"): every sale in ``live_sales_all`` by
scheduled time, the scheduled ones in ``live_sales_scheduled``, the live ones in
``live_sales_live``, and ``live_sale_links`` from each linked post or live-video
id to its sale. Status changes run as the scripts of :mod:`live_sales.scripts`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import Redis

from bot.batched_reads import Staged, stage_script
from bot.keys import Keys
from bot.scripts import register_script

from . import scripts
from .keys import SaleKeys
from .model import Broadcast, LiveSale, text

HOUR_MS = 3_600_000
ATTACH_LIVE_WITHIN_MS = 2 * HOUR_MS  # a sale started by hand this recently takes the Page's new live video
SCHEDULED_BEFORE_MS = 24 * HOUR_MS  # the webhook starts a sale planned up to a day ago ...
SCHEDULED_AFTER_MS = 6 * HOUR_MS  # ... or up to 6 hours ahead; later ones wait for their own live


# KEYS: the sale's hash, live_sale_links. ARGV: sale id, then the post or live-video ids to link.
# Adds each id to the sale's post_ids (once) and points it at the sale. -1: no such sale, -2: ended.
_LINK = """
local raw = redis.call('HGET', KEYS[1], 'post_ids')
if not raw then return -1 end
if redis.call('HGET', KEYS[1], 'status') == 'ended' then return -2 end
local ids, have, added = cjson.decode(raw), {}, 0
for _, id in ipairs(ids) do have[id] = true end
for i = 2, #ARGV do
  if not have[ARGV[i]] then ids[#ids + 1] = ARGV[i]; have[ARGV[i]] = true; added = added + 1 end
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
end
redis.call('HSET', KEYS[1], 'post_ids', cjson.encode(ids))
return added
"""


@dataclass(frozen=True, slots=True)
class Transition:
    """What a start or end did: ``outcome`` as the script said it, and the sale after it."""

    outcome: str
    sale: LiveSale | None

    @property
    def started(self) -> bool:
        return self.outcome in ("started", "created")


_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])


def _changes_sales(method: _Method) -> _Method:
    """A write of the store: the store's version moves once it is done (or failed: it may have landed)."""
    @functools.wraps(method)
    async def changed(self: SaleStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.version += 1
    return cast(_Method, changed)


class SaleStore:
    """Reads and writes the live sales of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = SaleKeys.of(keys)
        self._start = register_script(redis, scripts.START)
        self._end = register_script(redis, scripts.END)
        self._remind = register_script(redis, scripts.REMIND)
        self._claim = register_script(redis, scripts.CLAIM_FOR_VIDEO)
        self._link = register_script(redis, _LINK)
        self._next_sale = register_script(redis, scripts.NEXT_SALE)
        self._next_sale_now = register_script(redis, scripts.NEXT_SALE_NOW)
        self.version = 0  # moves with every change this process makes (what caches of its reads go by)

    @_changes_sales
    async def create(self, *, title: str, url: str, topic: str, scheduled_ms: int, now_ms: int,
                     post_ids: Sequence[str] = (), products: Sequence[str] = (), reminder_minutes: int = 0,
                     notify_at_start: bool = True) -> LiveSale:
        """A new sale, ``scheduled``; its post (or live-video) ids point to it from now on."""
        sale_id = f"ls-{await self._redis.incr(self._keys.live_sale_seq)}"
        sale = LiveSale(id=sale_id, title=title, url=url, topic=topic, status="scheduled",
                        scheduled_ms=scheduled_ms, post_ids=tuple(post_ids), products=tuple(products),
                        created_ms=now_ms, reminder_minutes=reminder_minutes, notify_at_start=notify_at_start)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.live_sale(sale_id), mapping=sale.to_redis())  # type: ignore[arg-type]
            pipe.zadd(self._keys.live_sales_all, {sale_id: scheduled_ms})
            pipe.zadd(self._keys.live_sales_scheduled, {sale_id: scheduled_ms})
            if post_ids:
                pipe.hset(self._keys.live_sale_links, mapping={p: sale_id for p in post_ids})
            await pipe.execute()
        return sale

    @_changes_sales
    async def link(self, sale_id: str, post_ids: Sequence[str]) -> int:
        """Link more posts or live videos to a sale (the ``live_videos`` webhook then finds it by them).

        Returns how many were new; -1 if there is no such sale, -2 if it has ended.
        """
        return int(await self._link(keys=[self._keys.live_sale(sale_id), self._keys.live_sale_links],
                                    args=[sale_id, *post_ids]))

    async def get(self, sale_id: str) -> LiveSale | None:
        raw = await self._redis.hgetall(self._keys.live_sale(sale_id))
        return LiveSale.from_redis(raw) if raw else None

    async def find(self, *, status: str | None = None, limit: int = 100) -> list[LiveSale]:
        """Sales by scheduled time, newest first; ``status`` filters."""
        index = {"scheduled": self._keys.live_sales_scheduled, "live": self._keys.live_sales_live}.get(
            status or "", self._keys.live_sales_all)
        ids = [text(i) for i in await self._redis.zrevrange(index, 0, -1 if status else limit - 1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in ids:
                pipe.hgetall(self._keys.live_sale(sale_id))
            rows = await pipe.execute()
        sales = [LiveSale.from_redis(r) for r in rows if r]
        return [s for s in sales if status is None or s.status == status][:limit]

    def _index(self) -> tuple[list[str], list[str]]:
        """The KEYS and the first ARGV every status script takes (see :mod:`live_sales.scripts`)."""
        k = self._keys
        return ([k.live_sale_links, k.live_sales_scheduled, k.live_sales_live, k.fanouts_active, k.live_sale_seq,
                 k.live_sales_all], [k.live_sale(""), k.fanout("")])

    @_changes_sales
    async def start(self, sale_id: str, *, now_ms: int, trigger: str) -> Transition:
        """``scheduled -> live`` and its fan-out, once: ``started`` for exactly one caller."""
        keys, prefixes = self._index()
        outcome = await self._start(keys=keys, args=[*prefixes, sale_id, now_ms, trigger])
        return Transition(text(outcome), await self.get(sale_id))

    @_changes_sales
    async def remind(self, sale_id: str, *, now_ms: int) -> str:
        """Start the sale's reminder fan-out if it is due and was not started: ``reminded`` for one caller."""
        keys, prefixes = self._index()
        return text(await self._remind(keys=keys, args=[*prefixes, sale_id, now_ms]))

    @_changes_sales
    async def end(self, sale_id: str, *, now_ms: int) -> Transition:
        """``live -> ended``: also cancels what of its fan-out is not sent yet."""
        keys, prefixes = self._index()
        outcome = await self._end(keys=[*keys, self._keys.campaign_cancelled(sale_id)],
                                  args=[*prefixes, sale_id, now_ms])
        return Transition(text(outcome), await self.get(sale_id))

    @_changes_sales
    async def claim_for_video(self, video_id: str, *, post_id: str, now_ms: int, title: str, url: str,
                              topic: str) -> Transition:
        """The Page went live with this video: start its sale (see ``scripts.CLAIM_FOR_VIDEO``)."""
        keys, prefixes = self._index()
        sale_id, outcome = await self._claim(keys=keys, args=[
            *prefixes, video_id, post_id, now_ms, now_ms - ATTACH_LIVE_WITHIN_MS,
            now_ms - SCHEDULED_BEFORE_MS, now_ms + SCHEDULED_AFTER_MS, title, url, topic])
        return Transition(text(outcome), await self.get(text(sale_id)))

    async def next_sale(self, since_ms: int) -> tuple[bool, LiveSale] | None:
        """The sale started last if one is live (``(True, sale)``), else the first one still scheduled for
        ``since_ms`` or later (``(False, sale)``); None if neither. One script call: the dialogue asks on
        every turn."""
        found = await self._next_sale(keys=[self._keys.live_sales_live, self._keys.live_sales_scheduled],
                                      args=[self._keys.live_sale(""), since_ms])
        return _next_sale_of(found)

    def stage_next_sale(self, pipe: Any, late_ms: int) -> Staged[tuple[bool, LiveSale] | None] | None:
        """:meth:`next_sale` from the deployment clock's now less ``late_ms``, read in the caller's pipeline
        (:mod:`bot.batched_reads`); None on Redis Cluster, whose pipelines take no script."""
        return stage_script(pipe, self._next_sale_now, *self._next_sale_now_input(late_ms), _next_sale_of)

    async def learn_next_sale_now(self, late_ms: int) -> None:
        """Run the staged read's script once by itself (after a NOSCRIPT: the server learns it)."""
        await self._next_sale_now(*self._next_sale_now_input(late_ms))

    def _next_sale_now_input(self, late_ms: int) -> tuple[list[str], list[str | int]]:
        k = self._keys
        return [k.live_sales_live, k.live_sales_scheduled, k.clock_offset], [k.live_sale(""), late_ms]

    async def is_linked(self, post_id: str) -> bool:
        return bool(post_id) and bool(await self._redis.hexists(self._keys.live_sale_links, post_id))

    async def sale_for_video(self, video_id: str) -> LiveSale | None:
        sale_id = await self._redis.hget(self._keys.live_sale_links, video_id)
        return await self.get(text(sale_id)) if sale_id else None


def _next_sale_of(found: Any) -> tuple[bool, LiveSale] | None:
    if not found:
        return None
    kind, flat = found
    return text(kind) == "live", LiveSale.from_redis(dict(zip(flat[::2], flat[1::2], strict=True)))


class BroadcastStore:
    """The blasts of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = SaleKeys.of(keys)

    async def create(self, *, topic: str, text: str, url: str, button_title: str, now_ms: int) -> Broadcast:
        """Record the blast and its fan-out (``running``) in one transaction."""
        blast_id = f"bc-{await self._redis.incr(self._keys.broadcast_seq)}"
        blast = Broadcast(id=blast_id, topic=topic, text=text, url=url, button_title=button_title,
                          created_ms=now_ms)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.broadcast(blast_id), mapping=blast.to_redis())  # type: ignore[arg-type]
            pipe.zadd(self._keys.broadcasts_all, {blast_id: now_ms})
            pipe.hset(self._keys.fanout(blast_id), mapping={
                "kind": "broadcast", "source": blast_id, "topic": topic, "phase": "snapshot", "index": 0,
                "eligible": 0, "state": "running", "created_ms": now_ms})
            pipe.sadd(self._keys.fanouts_active, blast_id)
            await pipe.execute()
        return blast

    async def get(self, blast_id: str) -> Broadcast | None:
        raw = await self._redis.hgetall(self._keys.broadcast(blast_id))
        return Broadcast.from_redis(raw) if raw else None

    async def recent(self, limit: int = 100) -> list[Broadcast]:
        ids = [text(i) for i in await self._redis.zrevrange(self._keys.broadcasts_all, 0, limit - 1)]
        rows = [await self._redis.hgetall(self._keys.broadcast(i)) for i in ids]
        return [Broadcast.from_redis(r) for r in rows if r]
