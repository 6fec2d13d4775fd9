"""Claims of a live sale's products, exactly once and in comment-time order (issue 12).

One claim per comment: its id is the comment's id, so a redelivered comment (the webhook's
retry, a worker that died after handling it) finds its claim and changes nothing, and an edit
(``verb: edited``) claims nothing more. Each step is one Lua script
(:mod:`live_sales.claim_scripts`, which states the fairness rule and the hold): record, settle
(and release the claims whose hold ran out), release on a deleted comment (``verb: remove``),
and the host's paid / cancelled.

Answers: a settled claim is put in ``claims_unanswered`` by the same script that decided it;
:meth:`ClaimBook.answer` queues each one's private reply (:mod:`live_sales.claim_replies`,
job id ``claim:<comment id>``, so the outbox queues it once) and only then takes it out, so a
process dying in between leaves it for the next pass. The settler (:meth:`ClaimBook.run`, a
background task of every process) settles due claims and answers them every
:data:`SETTLE_INTERVAL` seconds; the handler settles and answers right after recording too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.keys import Keys
from bot.outbox import Outbox
from bot.scripts import register_script
from bot.settings import Settings

from . import claim_scripts
from .claim_numbers import answers_campaign, claim_numbers
from .claim_replies import answer_job
from .keys import SaleKeys
from .model import iso, text
from .products import lot_of

log = logging.getLogger(__name__)

SETTLE_INTERVAL = 0.05
SETTLE_BATCH = 500
ANSWER_BATCH = 200
STATUSES = ("pending", "claimed", "waitlisted", "released", "paid", "cancelled")


@dataclass(frozen=True, slots=True)
class NewClaim:
    """A claim comment, read and matched to a product of a live sale."""

    claim_id: str  # the comment id
    sale_id: str
    code: str
    variant: str
    quantity: int
    psid: str  # the commenter (``from.id``; messenger-platform.md §2.9: not always a PSID)
    name: str
    comment_ms: int
    message: str
    title: str = ""  # the product's, kept with the claim for its answer
    live_media: str = ""  # the Instagram live video it came under: its answer goes only while it is broadcast


class ClaimBook:
    """Records, settles, answers and changes the claims of one Page."""

    def __init__(self, redis: Redis, keys: Keys, outbox: Outbox, settings: Settings) -> None:
        self._redis = redis
        self._keys = SaleKeys.of(keys)
        self._outbox = outbox
        self._template = settings.checkout_url_template
        self._args = script_args(keys, settings)
        self._claim = register_script(redis, claim_scripts.CLAIM)
        self._settle = register_script(redis, claim_scripts.SETTLE)
        self._change = register_script(redis, claim_scripts.CHANGE)

    async def record(self, claim: NewClaim) -> tuple[str, str]:
        """(recorded | duplicate | unknown_lot, status now); a claim decided at once gets its answer queued."""
        k = self._keys
        outcome, status = await self._claim(
            keys=[k.claim(claim.claim_id), k.sale_stock(claim.sale_id), k.window],
            args=[*self._args, claim.claim_id, claim.sale_id, claim.code, claim.variant,
                  lot_of(claim.code, claim.variant), claim.quantity, claim.psid, claim.name, claim.comment_ms,
                  claim.message[:200], claim.title[:80], claim.live_media])
        if text(outcome) == "recorded" and text(status) != "pending":
            await self.answer([claim.claim_id])  # its own answer now; any other the walk decided: the settler's
        return text(outcome), text(status)

    async def change(self, claim_id: str, to: str) -> tuple[str, str]:
        """Move a claim to ``released``, ``cancelled`` or ``paid`` (see ``claim_scripts.CHANGE``):
        (changed | already | refused | unknown, the status before)."""
        outcome, before = await self._change(keys=[self._keys.claim(claim_id), self._keys.window],
                                             args=[*self._args, claim_id, to])
        if text(outcome) == "changed":
            await self.answer()
        return text(outcome), text(before)

    async def settle(self) -> int:
        """Release the claims whose hold ran out, settle every claim now due; returns how many were answered
        or told (their messages queued)."""
        decided = int(await self._settle(keys=[self._keys.claims_due, self._keys.claims_holds, self._keys.window],
                                         args=[*self._args, SETTLE_BATCH]))
        await self.answer()
        return decided

    async def answer(self, only: list[str] | None = None) -> int:
        """Queue the message of every decided, unanswered claim (or of ``only`` these); returns how many were
        queued. Taken out of ``claims_unanswered`` only once queued (the outbox queues a job id once)."""
        queued = 0
        while True:
            if only is not None:
                ids, only = only, []
            else:
                ids = [text(i) for i in await self._redis.zrange(self._keys.claims_unanswered, 0, ANSWER_BATCH - 1)]
            if not ids:
                return queued
            claims = [c for c in await self._load(ids) if c.get("answer")]
            queued += await self._outbox.enqueue_many([answer_job(c, c.get("title") or c["code"], self._template)
                                                       for c in claims])
            await self._redis.zrem(self._keys.claims_unanswered, *ids)

    async def pending(self) -> int:
        """Claims not settled or not answered yet (tests and burst mode wait for 0)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._keys.claims_due)
            pipe.zcard(self._keys.claims_unanswered)
            due, unanswered = await pipe.execute()
        return int(due) + int(unanswered)

    async def run(self, stop: asyncio.Event) -> None:
        """The settler: every :data:`SETTLE_INTERVAL` s, settle and answer what is due (any process may)."""
        while not stop.is_set():
            try:
                await self.settle()
            except RedisError as exc:
                log.warning("claims settler: Redis refused (%s); trying again", type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=SETTLE_INTERVAL)
            except asyncio.TimeoutError:
                pass

    async def count(self, sale_id: str, what: str) -> None:
        """Count something the claim steps do not (a claim asked for its variant) in the sale's numbers."""
        await self._redis.hincrby(self._keys.claim_numbers(sale_id), what, 1)

    async def numbers(self, sale_id: str) -> dict[str, Any]:
        """The sale's claim numbers (:mod:`live_sales.claim_numbers`)."""
        counted = await self._redis.hgetall(self._keys.claim_numbers(sale_id))
        answers = await self._outbox.numbers(campaign=answers_campaign(sale_id))
        return claim_numbers({text(k): int(v) for k, v in counted.items()}, answers)

    async def get(self, claim_id: str) -> dict[str, str] | None:
        found = await self._load([claim_id])
        return found[0] if found and found[0].get("sale") else None

    async def of_sale(self, sale_id: str) -> list[dict[str, Any]]:
        """The sale's claims in comment-time order, as the API shows them."""
        ids = [text(i) for i in await self._redis.zrange(self._keys.sale_claims(sale_id), 0, -1)]
        return [view(c) for c in await self._load(ids) if c.get("sale")]

    async def _load(self, ids: list[str]) -> list[dict[str, str]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for claim_id in ids:
                pipe.hgetall(self._keys.claim(claim_id))
            rows = await pipe.execute()
        return [{text(k): text(v) for k, v in row.items()} for row in rows if row]



def script_args(keys: Keys, settings: Settings) -> list[str | int]:
    """The first arguments of every claim script: the Page's key prefix, settle ms, hold ms."""
    return [keys.prefix, settings.claim_settle_ms, int(settings.claim_hold_minutes * 60_000)]


def view(claim: Mapping[str, str]) -> dict[str, Any]:
    """A claim as the admin API shows it (``psid``: the commenter's id as the webhook gave it)."""
    position = int(claim.get("position") or 0)
    return {
        "claim_id": claim["id"], "sale_id": claim["sale"], "psid": claim.get("psid"), "name": claim.get("name") or None,
        "code": claim.get("code"), "variant": claim.get("variant") or None, "quantity": int(claim.get("quantity") or 0),
        "status": claim.get("status"), "reason": claim.get("reason") or None, "answer": claim.get("answer") or None,
        "waitlist_position": position if claim.get("answer") == "waitlisted" else None,
        "comment_ms": int(claim.get("comment_ms") or 0), "comment_at": iso(int(claim.get("comment_ms") or 0)),
        "arrived_ms": int(claim.get("arrived_ms") or 0), "decided_ms": int(claim.get("decided_ms") or 0) or None,
        "promoted_ms": int(claim.get("promoted_ms") or 0) or None,
        "message": claim.get("message") or None,
    }
