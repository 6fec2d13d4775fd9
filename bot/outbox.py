"""The outbox: send jobs in a Redis stream, each with an idempotency record and numbers.

Every outgoing message is a :class:`SendJob` appended here (by the dialogue, a
fan-out, an admin call); send workers (``bot.sender``) decide, send and record.
A job's ``id`` is its idempotency key: :meth:`Outbox.enqueue` queues an id once
(a retried fan-out queues nothing twice), and its record (``Keys.send_record``)
moves ``queued -> sending -> sent | skipped | failed`` so no worker sends it again.

Numbers: each outcome bumps the job's campaign hash and the day's hash
(``sent``, ``queued``, ``skipped|<reason>``, ``failed|<reason>``, later
``delivered`` and ``read`` from receipts) and the ``salebell_sends_total``
counter, in the same transaction as the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from redis.asyncio import Redis

from .keys import IDEMPOTENCY_TTL, Keys
from .policy import PURPOSES, Purpose

RECEIPT_TTL = 8 * 24 * 3600
TERMINAL = frozenset({"sent", "skipped", "failed"})

_ENQUEUE = """
if redis.call('HSETNX', KEYS[1], 'state', 'queued') == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], '*', 'j', ARGV[1])
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[3], 'queued', 1) end
return 1
"""
# The same for many jobs in one call. KEYS: the outbox, then per job its record and its campaign's
# numbers (the outbox itself when it has no campaign). ARGV: the record TTL, then each job's JSON.
_ENQUEUE_MANY = """
local queued = 0
for i = 1, (#KEYS - 1) / 2 do
  local record, stats = KEYS[2 * i], KEYS[2 * i + 1]
  if redis.call('HSETNX', record, 'state', 'queued') == 1 then
    redis.call('EXPIRE', record, ARGV[1])
    redis.call('XADD', KEYS[1], '*', 'j', ARGV[i + 1])
    if stats ~= KEYS[1] then redis.call('HINCRBY', stats, 'queued', 1) end
    queued = queued + 1
  end
end
return queued
"""
ENQUEUE_CHUNK = 500  # jobs per script call: a few ms of Redis at most
# KEYS: the records. ARGV[1]: the worker; then per record its route (via). An OTN token the job
# popped is already on its record (``ConsentStore.take_otn``).
_MARK_SENDING = """
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'state', 'sending', 'owner', ARGV[1], 'via', ARGV[i + 1])
end
return #KEYS
"""
# KEYS[1] the day's numbers, KEYS[2] the counters; then per outcome its record, its campaign's numbers
# (KEYS[1] when it has none) and the shopper's awaiting-receipt set (KEYS[1] when nothing awaits).
# ARGV[1..4]: record TTL, receipt TTL, day TTL, receipt score; then per outcome: state, via,
# message_id, reason, code, numbers field, counter field, receipt member ('' for none).
_FINISH = """
local n = (#KEYS - 2) / 3
for i = 0, n - 1 do
  local record, campaign, receipts = KEYS[3 + 3 * i], KEYS[4 + 3 * i], KEYS[5 + 3 * i]
  local a = 4 + 8 * i
  redis.call('HSET', record, 'state', ARGV[a + 1], 'via', ARGV[a + 2], 'message_id', ARGV[a + 3],
             'reason', ARGV[a + 4], 'code', ARGV[a + 5])
  redis.call('HDEL', record, 'owner', 'taken', 'otn')  -- only needed while sending; the record stays a week
  redis.call('EXPIRE', record, ARGV[1])
  if campaign ~= KEYS[1] then redis.call('HINCRBY', campaign, ARGV[a + 6], 1) end
  redis.call('HINCRBY', KEYS[1], ARGV[a + 6], 1)
  redis.call('HINCRBY', KEYS[2], ARGV[a + 7], 1)
  if ARGV[a + 8] ~= '' then
    redis.call('ZADD', receipts, ARGV[4], ARGV[a + 8])
    redis.call('EXPIRE', receipts, ARGV[2])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
"""
DAY_STATS_TTL = 40 * 24 * 3600


@dataclass(frozen=True, slots=True)
class SendJob:
    """One message to send, and what the policy needs to judge it."""

    id: str
    purpose: Purpose
    message: dict[str, Any]
    psid: str | None = None
    comment_id: str | None = None
    comment_ms: int = 0
    topic: str | None = None
    title: str | None = None
    campaign: str = ""
    explicit: bool = False
    marketing_message: dict[str, Any] | None = None  # the body for the Marketing Message API, if different
    after: str = ""  # a job to the same recipient that goes first (the text before a reply's card)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")
        if "|" in self.id or "|" in self.campaign:
            raise ValueError("job ids and campaign names may not contain '|'")
        if self.purpose == "private_reply" and not self.comment_id:
            raise ValueError("a private reply needs comment_id")
        if self.purpose != "private_reply" and not self.psid:
            raise ValueError(f"a {self.purpose} needs psid")
        if self.purpose == "notification" and not self.topic:
            raise ValueError("a notification needs its topic")

    def to_json(self) -> str:
        # A shallow dict: dataclasses.asdict would deep-copy the message bodies first (~7x slower).
        return json.dumps({name: getattr(self, name) for name in _JOB_FIELDS}, separators=(",", ":"),
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> SendJob:
        return cls(**json.loads(raw))


_JOB_FIELDS = tuple(f.name for f in fields(SendJob))


@dataclass(frozen=True, slots=True)
class SendRecord:
    """A job's idempotency record as stored."""

    state: str
    via: str = ""
    message_id: str = ""
    reason: str = ""
    code: str = ""
    owner: str = ""


@dataclass(slots=True)
class Outcome:
    """How a job ended, to be written by :meth:`Outbox.finish`."""

    job: SendJob
    outcome: str  # sent, skipped or failed
    via: str = ""
    message_id: str = ""
    reason: str = ""
    code: str = ""
    extra_writes: dict[str, Any] = field(default_factory=dict)


def day_of(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


class Outbox:
    """Queues jobs and keeps their records and numbers."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._enqueue = redis.register_script(_ENQUEUE)
        self._enqueue_many = redis.register_script(_ENQUEUE_MANY)
        self._mark_sending = redis.register_script(_MARK_SENDING)

    async def enqueue(self, job: SendJob) -> bool:
        """Queue the job unless a job with its id was queued before; True if queued now."""
        keys = [self._keys.send_record(job.id), self._keys.outbox,
                self._keys.campaign_stats(job.campaign) if job.campaign else self._keys.outbox]
        return bool(await self._enqueue(keys=keys, args=[job.to_json(), job.campaign, IDEMPOTENCY_TTL]))

    async def enqueue_many(self, jobs: Sequence[SendJob]) -> int:
        """Queue a batch, one script call per ``ENQUEUE_CHUNK`` jobs; returns how many were new."""
        queued = 0
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            keys: list[str] = [self._keys.outbox]
            args: list[str | int] = [IDEMPOTENCY_TTL]
            for job in jobs[start:start + ENQUEUE_CHUNK]:
                keys += [self._keys.send_record(job.id),
                         self._keys.campaign_stats(job.campaign) if job.campaign else self._keys.outbox]
                args.append(job.to_json())
            queued += int(await self._enqueue_many(keys=keys, args=args))
        return queued

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
        return SendRecord(**{k: values.get(k, "") for k in SendRecord.__dataclass_fields__})

    async def mark_sending(self, marks: Sequence[tuple[SendJob, str]], owner: str) -> None:
        """``(job, via)`` pairs: written after their limits were taken, before the HTTP calls."""
        if not marks:
            return
        keys, args = [], [owner]
        for job, via in marks:
            keys.append(self._keys.send_record(job.id))
            args.append(via)
        await self._mark_sending(keys=keys, args=args)

    async def finish(self, outcomes: Sequence[Outcome], now_ms: int, *, ack: Callable[[Any], None] | None = None,
                     sent_ms: int | None = None) -> None:
        """Record outcomes, bump the numbers, await receipts of what was sent — in one transaction.

        ``ack(pipe)`` adds the stream acknowledgements to the same transaction, so a job is
        never acknowledged without its record, nor recorded twice.
        ``sent_ms``: a time no later than the sends (the batch's start); a receipt's watermark
        (the message's own timestamp) must reach it, so ``now_ms`` (after the calls) would miss.
        The outcomes go as one script (EVAL: inside MULTI a missing script must not fail alone).
        """
        day = day_of(now_ms)
        daily = self._keys.daily_stats(day)
        keys: list[str] = [daily, self._keys.counters]
        args: list[Any] = [IDEMPOTENCY_TTL, RECEIPT_TTL, DAY_STATS_TTL, now_ms if sent_ms is None else sent_ms]
        async with self._redis.pipeline(transaction=True) as pipe:
            for o in outcomes:
                if o.outcome not in TERMINAL:
                    raise ValueError(o.outcome)
                sent = o.outcome == "sent"
                awaits = sent and bool(o.job.psid) and o.via != "comment"
                keys += [self._keys.send_record(o.job.id),
                         self._keys.campaign_stats(o.job.campaign) if o.job.campaign else daily,
                         self._keys.awaiting_receipt(o.job.psid or "") if awaits else daily]
                args += [o.outcome, o.via, o.message_id, o.reason, o.code,
                         "sent" if sent else f"{o.outcome}|{o.reason}",
                         f"sends_total|{o.outcome}|{o.via if sent else o.reason}",
                         f"{o.job.campaign}|{day}|{o.job.id}|s" if awaits else ""]
                for key, value in o.extra_writes.items():
                    if isinstance(value, tuple):  # (hash field, value)
                        pipe.hset(key, value[0], value[1])
                    else:
                        pipe.set(key, value, ex=IDEMPOTENCY_TTL)
            if outcomes:
                pipe.eval(_FINISH, len(keys), *keys, *args)
            if ack is not None:
                ack(pipe)
            await pipe.execute()

    async def numbers(self, *, campaign: str | None = None, day: str | None = None) -> dict[str, int]:
        key = self._keys.campaign_stats(campaign) if campaign else self._keys.daily_stats(day or "")
        raw = await self._redis.hgetall(key)
        return {k.decode(): int(v) for k, v in raw.items()}
