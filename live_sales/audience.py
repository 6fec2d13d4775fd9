"""Who a campaign would reach, and who it cannot: the blast preview, the never-opted-in list, shoppers' names.

:func:`preview` walks a topic's recipients as a fan-out's snapshot would (marketing
subscribers, then OTN-only holders) and asks the policy (:func:`bot.policy.decide`)
about each with the facts the send worker reads: how many it would reach, by which
first route, and how many it would skip with each reason. The send-time limits (a
token's gap, sends per shopper per day, the Page's budget) are not predicted: they
depend on what else is sent before the blast's turn, and are counted when it runs.

:func:`never_opted_in` lists the shoppers who messaged or commented lately but hold no
consent for the topic: no campaign reaches them. :class:`ShopperNames` puts names on
PSIDs through the User Profile API, cached in ``SaleKeys.shopper_names``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from bot.clock import Clock
from bot.consent import ConsentStore, ShopperConsent, Subscription
from bot.graph import GraphClient, GraphError, GraphNetworkError, GraphThrottled, GraphTransient
from bot.keys import Keys
from bot.policy import Facts, decide
from bot.settings import Settings

from .keys import SaleKeys
from .model import iso, text

log = logging.getLogger(__name__)

BATCH = 1000
NAME_TTL_MS = 7 * 86_400_000  # a name is asked for again after a week
NAME_LOOKUPS_AT_ONCE = 8


async def preview(redis: Redis, keys: Keys, clock: Clock, settings: Settings, topic: str) -> dict[str, Any]:
    """The policy's decision for every recipient of ``topic`` now, counted."""
    now = await clock.now_ms()
    by_route: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    recipients = 0
    async for chunk in ConsentStore(redis, keys).subscribers(topic, BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.subscribers(topic), chunk)
            pipe.hmget(keys.otn_tokens(topic), chunk)
            pipe.smismember(keys.opted_out, chunk)
            pipe.hmget(keys.unreachable, chunk)
            pipe.hmget(keys.window, chunk)
            packed, otn, opted_out, unreachable, window = await pipe.execute()
        for i, psid in enumerate(chunk):
            consent = ShopperConsent(
                subscription=Subscription.unpack(psid, topic, packed[i]) if packed[i] else None,
                otn_tokens=len(text(otn[i]).split()) if otn[i] else 0,
                opted_out=bool(opted_out[i]), unreachable=unreachable[i] is not None)
            plan = decide("notification", Facts(now_ms=now, last_action_ms=int(window[i] or 0), consent=consent),
                          settings)
            recipients += 1
            if plan.skip is not None:
                skipped[plan.skip.value] += 1
            else:
                by_route[plan.routes[0].via] += 1
    return {"topic": topic, "checked_at": iso(now), "recipients": recipients, "reached": sum(by_route.values()),
            "by_route": dict(sorted(by_route.items())), "skipped": dict(sorted(skipped.items())),
            "skipped_total": sum(skipped.values()),
            "not_predicted": ["frequency", "page_budget"]}


@dataclass(frozen=True, slots=True)
class Quiet:
    """A shopper active since the cut-off who never opted in to the topic."""

    psid: str
    last_action_ms: int


async def never_opted_in(redis: Redis, keys: Keys, topic: str, since_ms: int,
                         batch: int = BATCH) -> AsyncIterator[list[Quiet]]:
    """Batches of shoppers whose last message or comment is ``since_ms`` or later and who hold no
    marketing subscription (of any status), no OTN token and no local opt-out for ``topic``."""
    cursor = 0
    while True:
        cursor, chunk = cast(tuple[int, dict[bytes, bytes]], await redis.hscan(keys.window, cursor, count=batch))
        recent = [(text(psid), int(ms)) for psid, ms in chunk.items() if int(ms) >= since_ms]
        if recent:
            psids = [p for p, _ in recent]
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hmget(keys.subscribers(topic), psids)
                pipe.hmget(keys.otn_tokens(topic), psids)
                pipe.smismember(keys.opted_out, psids)
                subscribed, otn, opted_out = await pipe.execute()
            found = [Quiet(p, ms) for (p, ms), s, o, out in zip(recent, subscribed, otn, opted_out)
                     if s is None and not o and not out]
            if found:
                yield found
        if cursor == 0:
            return


class ShopperNames:
    """Names for PSIDs: from the cache, else the User Profile API (and then cached)."""

    def __init__(self, redis: Redis, keys: Keys, clock: Clock, graph: GraphClient | None) -> None:
        self._redis = redis
        self._keys = SaleKeys.of(keys)
        self._clock = clock
        self._graph = graph

    async def names(self, psids: Sequence[str]) -> dict[str, str | None]:
        """``psid -> name`` (None when Meta does not say); asks Meta only for the ones not cached lately."""
        if not psids:
            return {}
        now = await self._clock.now_ms()
        cached = await self._redis.hmget(self._keys.shopper_names, list(psids))
        names: dict[str, str | None] = {}
        missing = []
        for psid, raw in zip(psids, cached):
            fetched, _, name = text(raw).partition("|") if raw is not None else ("0", "", "")
            if raw is not None and now - int(fetched or 0) < NAME_TTL_MS:
                names[psid] = name or None
            else:
                missing.append(psid)
        if missing and self._graph is not None:
            gate = asyncio.Semaphore(NAME_LOOKUPS_AT_ONCE)
            looked = await asyncio.gather(*(self._look_up(psid, gate) for psid in missing))
            answered = {psid: f"{now}|{name or ''}" for psid, (name, final) in zip(missing, looked) if final}
            if answered:
                await self._redis.hset(self._keys.shopper_names, mapping=answered)  # type: ignore[arg-type]
            names.update((psid, name) for psid, (name, _) in zip(missing, looked))
        for psid in psids:
            names.setdefault(psid, None)
        return names

    async def _look_up(self, psid: str, gate: asyncio.Semaphore) -> tuple[str | None, bool]:
        """The name (or None) and whether the answer is final (a refusal is; an outage or throttle is not)."""
        assert self._graph is not None
        async with gate:
            try:
                profile = await self._graph.get_user_profile(psid, ("name",))
            except (GraphTransient, GraphNetworkError, GraphThrottled) as exc:
                log.info("shopper name of %s not available now: %s", psid, exc.reason)
                return None, False
            except GraphError as exc:
                log.info("shopper name of %s not available: %s", psid, exc.reason)
                return None, True
        name = profile.get("name")
        return (str(name)[:200] if isinstance(name, str) and name else None), True
