"""The outbox: send jobs in two Redis streams, each with an idempotency record and numbers.

Every outgoing message is a :class:`~bot.send_jobs.SendJob` appended here (by the dialogue, a
fan-out, an admin call); send workers (``bot.sender``) decide, send and record.
A job's ``id`` is its idempotency key: :meth:`Outbox.enqueue` queues an id once
(a retried fan-out queues nothing twice), and its record (``Keys.send_record``)
moves ``queued -> sending -> sent | skipped | failed``, or from ``sending`` to
``delayed`` (waiting in a delayed ZSET to be tried again, ``bot.send_retry``) and
back to ``queued``, so no worker sends it twice.

Two lanes: campaign notifications go to their own stream (``Keys.outbox_campaigns``),
everything else (replies, opt-in cards, order updates) to ``Keys.outbox``, which the
workers read first, so a backlog of campaign sends never holds a shopper's reply.

Numbers: each outcome bumps the job's campaign hash and the day's hash
(``sent``, ``queued``, ``skipped|<reason>``, ``failed|<reason>``, later
``delivered`` and ``read`` from receipts), the same field once more under the job's
channel (:mod:`bot.channel_numbers`), and the ``salebell_sends_total`` counter, in the
same script as the record and the stream acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis

from .channel_numbers import channel_prefix
from .clock import LUA_NOW
from .keys import IDEMPOTENCY_TTL, Keys
from .replies import text
from .scripts import register_script
from .send_jobs import CAMPAIGNS, REPLIES, TERMINAL, Delay, Outcome, Result, SendJob, SendRecord
from .shop_calendar import UTC, day_of
from .streams import recreating_group

RECEIPT_TTL = 8 * 24 * 3600
DAY_STATS_TTL = 40 * 24 * 3600
RECEIPT_SKEW_MS = 1000  # an awaited receipt is scored this much before the call: Meta's clock is not ours
GROUP = "senders"
ENQUEUE_CHUNK = 500  # jobs per script call: a few ms of Redis at most
LAST_REPLY_TTL = 600  # how long a shopper's last queued reply is remembered for the next one to follow
FINISH_ARITY = 16  # arguments per item of outbox_finish.lua
# routes whose sends await no delivery or read receipt
NO_RECEIPTS = frozenset({"comment", "thread", "instagram_comment"})

_HERE = Path(__file__).parent
ENQUEUE_JOBS = (_HERE / "outbox_enqueue.lua").read_text()  # the Lua function, for the scripts that queue jobs
_ENQUEUE = ENQUEUE_JOBS + "\nreturn enqueue_jobs(KEYS, 0, ARGV, 0, (#KEYS - 2) / 3)\n"
_MARK_SENDING = LUA_NOW + (_HERE / "outbox_mark.lua").read_text()
_FINISH = LUA_NOW + (_HERE / "outbox_finish.lua").read_text()


@dataclass(frozen=True, slots=True)
class Lane:
    """One of the outbox's two streams and the ZSET of its delayed jobs."""

    name: str
    stream: str
    delayed: str

    @property
    def code(self) -> str:
        return self.name[0]  # 'r' or 'c' in the scripts


def lanes(keys: Keys) -> dict[str, Lane]:
    """The reply lane first: workers read in this order."""
    return {REPLIES: Lane(REPLIES, keys.outbox, keys.outbox_delayed),
            CAMPAIGNS: Lane(CAMPAIGNS, keys.outbox_campaigns, keys.outbox_campaigns_delayed)}


@dataclass(frozen=True, slots=True)
class Entry:
    """A stream entry a worker holds: its id and lane."""

    id: bytes
    lane: str

_INT_FIELDS = frozenset({"attempts", "failed_since", "delays", "sent_at"})

@dataclass(frozen=True, slots=True)
class Marked:
    """What :meth:`Outbox.mark_sending` did: Redis's deployment time, and the jobs it did not mark (another
    worker marked, finished or delayed them since their records were loaded)."""

    now_ms: int
    refused: frozenset[str]



def receipt_member(job: SendJob, day: str) -> str:
    """The awaiting-receipt member of a job (``bot.tracking``); '' when no receipt will come."""
    return f"{job.campaign}|{day}|{job.id}|s" if job.psid and job.purpose != "private_reply" else ""


@dataclass(frozen=True, slots=True)
class JobArguments:
    """``count`` jobs as ``enqueue_jobs`` takes them: the two lane streams and three keys per job; the two TTLs
    and four arguments per job."""

    count: int
    keys: list[str]
    args: list[str | int]


class Outbox:
    """Queues jobs and keeps their records and numbers."""

    def __init__(self, redis: Redis, keys: Keys, zone: tzinfo = UTC) -> None:
        self._redis = redis
        self._keys = keys
        self.zone = zone  # the shop's: its daily numbers are the shop's days (bot.shop_calendar)
        self.lanes = lanes(keys)
        self._enqueue = register_script(redis, _ENQUEUE)
        self._mark_sending = register_script(redis, _MARK_SENDING)
        self._finish = register_script(redis, _FINISH)
        self._fixed = [keys.outbox, keys.outbox_campaigns]

    async def enqueue(self, job: SendJob) -> bool:
        """Queue the job unless a job with its id was queued before; True if queued now."""
        return bool(await self.enqueue_many([job]))

    async def enqueue_many(self, jobs: Sequence[SendJob]) -> int:
        """Queue a batch, one script call per ``ENQUEUE_CHUNK`` jobs; returns how many were new."""
        queued = 0
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            chunk = self.enqueue_arguments(jobs[start:start + ENQUEUE_CHUNK])
            queued += int(await self._enqueue(keys=chunk.keys, args=chunk.args))
        return queued

    def enqueue_arguments(self, jobs: Sequence[SendJob]) -> JobArguments:
        """What ``enqueue_jobs`` (``outbox_enqueue.lua``) is given to queue ``jobs``: for a script that queues
        them in a step of its own (the consumer's completing step, :mod:`bot.turn_commit`)."""
        keys: list[str] = list(self._fixed)
        args: list[str | int] = [IDEMPOTENCY_TTL, LAST_REPLY_TTL]
        for job in jobs:
            chained = job.lane == REPLIES and job.psid is not None
            keys += [self._keys.send_record(job.id),
                     self._keys.campaign_stats(job.campaign) if job.campaign else self._keys.outbox,
                     self._keys.last_reply(job.psid or "") if chained else self._keys.outbox]
            args += [self.lanes[job.lane].code, job.id, job.to_json(), channel_prefix(job.channel) + "queued"]
        return JobArguments(len(jobs), keys, args)

    # -- the send workers' group ------------------------------------------------
    async def read_new(self, consumer: str, streams: Mapping[str, str], count: int,
                       block_ms: int | None) -> dict[str, list[Any]]:
        """New entries (``{stream: ">"}``) for ``consumer`` of the workers' group, by stream; the group is
        made again if Redis lost it."""
        reply = await recreating_group(self._redis, list(streams), GROUP, lambda: self._redis.xreadgroup(
            GROUP, consumer, dict(streams), count=count, block=block_ms))  # type: ignore[arg-type]
        return {text(s): entries for s, entries in cast(list[Any], reply) or []}

    async def claim_idle(self, consumer: str, stream: str, min_idle_ms: int, count: int) -> list[Any]:
        """Entries of ``stream`` held longer than ``min_idle_ms`` by a worker (a dead one), now ``consumer``'s."""
        _, claimed, *_ = await recreating_group(self._redis, stream, GROUP, lambda: self._redis.xautoclaim(
            stream, GROUP, consumer, min_idle_time=min_idle_ms, count=count))
        return cast(list[Any], claimed)

    async def record(self, job_id: str) -> SendRecord | None:
        return (await self.records([job_id]))[0]

    async def records(self, job_ids: Sequence[str]) -> list[SendRecord | None]:
        """The idempotency records of many jobs, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self._keys.send_record(job_id))
            raws = await pipe.execute()
        return [self.parse_record(raw) for raw in raws]

    @staticmethod
    def parse_record(raw: Mapping[bytes, bytes]) -> SendRecord | None:
        if not raw:
            return None
        values = {k.decode(): v.decode() for k, v in raw.items()}
        return SendRecord(**{k: int(values.get(k) or 0) if k in _INT_FIELDS else values.get(k, "")
                             for k in SendRecord.__dataclass_fields__})  # type: ignore[arg-type]

    async def mark_sending(self, marks: Sequence[tuple[SendJob, str]], owner: str, day: str,
                           seen: Mapping[str, SendRecord | None] | None = None) -> Marked:
        """``(job, via)`` pairs: written after their limits were taken, before the HTTP calls.

        Fenced (``outbox_mark.lua``): a job is marked only if its record is as this worker loaded it
        (``seen[job.id]``, None or absent for a record without a mark), so when two workers hold one
        entry only the first to mark it sends it; the others get it back in ``Marked.refused``. From
        here on the job awaits its receipts (``day`` names the day it is sent on), so a delivery
        webhook that overtakes the outcome is counted. ``Marked.now_ms`` is Redis's deployment time.
        """
        keys: list[str] = [self._keys.clock_offset]
        args: list[str | int] = [owner, RECEIPT_SKEW_MS, RECEIPT_TTL, IDEMPOTENCY_TTL]
        for job, via in marks:
            member = receipt_member(job, day) if via not in NO_RECEIPTS else ""
            record = self._keys.send_record(job.id)
            keys += [record, self._keys.awaiting_receipt(job.psid or "") if member else record]
            before = (seen or {}).get(job.id)
            args += [via, member, f"{before.owner}|{before.sent_at}" if before else "|0"]
        now, *refused = await self._mark_sending(keys=keys, args=args)
        return Marked(int(now), frozenset(marks[int(i) - 1][0].id for i in refused))

    def day(self, now_ms: int) -> str:
        """The shop's day of ``now_ms``, the day its numbers count in."""
        return day_of(now_ms, self.zone)

    async def finish(self, items: Sequence[tuple[Entry | None, Result]], now_ms: int) -> None:
        """Record outcomes and delays, bump the numbers, acknowledge the entries: one script call.

        Safe to repeat when its answer was lost: each item is applied once (see outbox_finish.lua).
        ``now_ms`` (the worker's estimate of the deployment clock) names the day of the numbers and
        scores the receipt of a sent job that was not marked (an older worker's). A sent opt-in
        request marks its title asked, a sent private reply its comment replied, in the same step.
        """
        day = self.day(now_ms)
        daily = self._keys.daily_stats(day)
        keys: list[str] = [daily, self._keys.counters, self._keys.clock_offset, *self._fixed,
                           self._keys.outbox_delayed, self._keys.outbox_campaigns_delayed]
        args: list[Any] = [IDEMPOTENCY_TTL, RECEIPT_TTL, DAY_STATS_TTL, now_ms - RECEIPT_SKEW_MS, GROUP]
        for entry, result in items:
            head = [self.lanes[entry.lane].code if entry else "r", entry.id if entry else ""]
            if isinstance(result, Outcome):
                keys += self._item_keys(result.job, daily, sent=result.outcome == "sent")
                item: list[Any] = ["o", *head, result.job.id, *self._outcome_args(result, day)]
            elif isinstance(result, Delay):
                keys += self._item_keys(result.job, daily, sent=False)
                item = ["d", *head, result.job.id, result.job.to_json(), max(0, int(result.delay_ms)),
                        result.attempts, result.failed_since, result.delays, result.behind, result.reason]
            else:
                keys += [daily] * 5
                item = ["a", *head]
            args += item + [""] * (FINISH_ARITY - len(item))
        await self._finish(keys=keys, args=args)

    def _item_keys(self, job: SendJob, daily: str, *, sent: bool) -> list[str]:
        asks = sent and job.purpose in ("optin_request", "otn_request") and bool(job.title) and bool(job.psid)
        return [self._keys.send_record(job.id), self._keys.campaign_stats(job.campaign) if job.campaign else daily,
                self._keys.awaiting_receipt(job.psid) if job.psid else daily,
                self._keys.optin_asked(job.psid or "") if asks else daily,
                self._keys.private_replied(job.comment_id) if sent and job.comment_id else daily]

    @staticmethod
    def _outcome_args(o: Outcome, day: str) -> list[str]:
        if o.outcome not in TERMINAL:
            raise ValueError(o.outcome)
        sent = o.outcome == "sent"
        job = o.job
        member = receipt_member(job, day) if sent and o.via not in NO_RECEIPTS else ""
        asked = job.title or "" if sent and job.purpose in ("optin_request", "otn_request") and job.psid else ""
        numbers = "sent" if sent else f"{o.outcome}|{o.reason}"
        if job.purpose == "thread_control":  # not a message: counted apart from the messages sent
            numbers = f"thread_control|{o.outcome}"
        return [o.outcome, o.via, o.message_id, o.reason, o.code, numbers,
                f"sends_total|{o.outcome}|{o.via if sent else o.reason}", member, str(o.attempts), asked,
                "1" if sent and job.comment_id else "", channel_prefix(job.channel) + numbers]

    async def numbers(self, *, campaign: str | None = None, day: str | None = None) -> dict[str, int]:
        key = self._keys.campaign_stats(campaign) if campaign else self._keys.daily_stats(day or "")
        raw = await self._redis.hgetall(key)
        return {text(k): int(v) for k, v in raw.items()}
