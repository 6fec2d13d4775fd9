"""Send jobs tried again later: backoff, budgets, and the loop that brings due jobs back.

A send that failed where nothing left (connection refused, connect timeout, a Meta-side error)
or that Meta throttled is not retried inside its batch: the worker writes it to its lane's
delayed ZSET (``Keys.outbox_delayed``, job id -> due ms; the job's JSON waits on its record)
in the same step that acknowledges its stream entry (``outbox_finish.lua``), and every send
worker runs :meth:`DelayedJobs.run`, which moves due jobs back into their stream
(``send_retry.lua``, one atomic step per job). A job is in exactly one place at any time; a
worker dying between steps loses nothing. The failed attempts and the first failure's time live
on the job's record, so a reclaim or a restart does not reset the budget.

Backoff: 1 s doubling to 30 s with jitter, for up to ``SEND_RETRY_SECONDS`` after the first
failure; a throttled job follows the Page's pause, for up to ``SEND_THROTTLE_ATTEMPTS`` throttled
calls (and the same time budget). Then the job is recorded failed (``network``, ``transient``,
``throttled``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .clock import LUA_NOW
from .keys import Keys
from .outbox import lanes
from .replies import text as _text
from .scripts import register_script
from .send_jobs import CAMPAIGNS, REPLIES, SendRecord
from .settings import Settings
from .streams import sleep_or_stop
from .throttle import PageThrottle

log = logging.getLogger(__name__)

SCRIPT = LUA_NOW + Path(__file__).with_name("send_retry.lua").read_text()
RETRY_BASE_MS = 1000
RETRY_CAP_MS = 30_000
POLL_SECONDS = 0.2
MOVE_AT_ONCE = 200


def backoff_ms(attempt: int) -> int:
    """The wait before try ``attempt + 1``: 1 s doubling to 30 s, drawn from the upper half (jitter)."""
    ceiling = min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** max(0, attempt - 1))
    return int(ceiling * random.uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True)
class Retry:
    """The next try of a failed job: in ``delay_ms``, as failed attempt ``attempts`` since ``failed_since``."""

    delay_ms: int
    attempts: int
    failed_since: int


class RetryBudget:
    """Whether a failed job gets another try, and when."""

    def __init__(self, settings: Settings) -> None:
        self._budget_ms = settings.send_retry_seconds * 1000
        self._throttled_attempts = settings.send_throttle_attempts

    def after_failure(self, record: SendRecord | None, now_ms: int) -> Retry | None:
        """A network or Meta-side failure where nothing left; None when the budget is spent."""
        attempts, since = self._so_far(record, now_ms)
        delay = backoff_ms(attempts)
        return Retry(delay, attempts, since) if now_ms + delay - since <= self._budget_ms else None

    def after_throttle(self, record: SendRecord | None, now_ms: int, pause_ms: int) -> Retry | None:
        """A throttled call (a probe of the pause too): again when the Page's pause ends, within both budgets."""
        attempts, since = self._so_far(record, now_ms)
        delay = pause_ms + random.randint(0, 200)
        if attempts >= self._throttled_attempts or now_ms + delay - since > self._budget_ms:
            return None
        return Retry(delay, attempts, since)

    @staticmethod
    def _so_far(record: SendRecord | None, now_ms: int) -> tuple[int, int]:
        attempts = (record.attempts if record else 0) + 1
        since = record.failed_since if record and record.failed_since else now_ms
        return attempts, since


class DelayedJobs:
    """The Page's delayed jobs: moves the due ones back into the outbox; polls the Page's pause too."""

    def __init__(self, redis: Redis, keys: Keys, throttle: PageThrottle) -> None:
        self._redis = redis
        self._keys = keys
        self._throttle = throttle
        self._lanes = lanes(keys)
        self._script = register_script(redis, SCRIPT)
        self._poll_keys = [keys.clock_offset, keys.outbox_delayed, keys.outbox_campaigns_delayed, keys.send_throttle]
        self._move_keys = [keys.clock_offset, keys.outbox_delayed, keys.outbox_campaigns_delayed, keys.outbox,
                           keys.outbox_campaigns]
        self.next_due_ms = -1  # the earliest due time seen by the last poll (-1: none waiting)

    async def move_due(self) -> int:
        """One poll: refresh the pause, then move every due job back to its stream. Returns how many."""
        reply = await self._script(keys=self._poll_keys, args=["p", MOVE_AT_ONCE])
        now, until, kind, level, slow, earliest, replies = (int(reply[0]), int(reply[1]), _text(reply[2]),
                                                            int(reply[3]), int(reply[4]), int(reply[5]), int(reply[6]))
        self._throttle.observe(now, until, kind, level, slow)
        self.next_due_ms = earliest
        ids = [_text(i) for i in reply[7:]]
        if not ids:
            return 0
        due = [(REPLIES, i) for i in ids[:replies]] + [(CAMPAIGNS, i) for i in ids[replies:]]
        args: list[str] = ["m"]
        for lane, job_id in due:
            args += [self._lanes[lane].code, job_id]
        keys = self._move_keys + [self._keys.send_record(job_id) for _, job_id in due]
        return int(await self._script(keys=keys, args=args))

    async def waiting(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            for lane in self._lanes.values():
                pipe.zcard(lane.delayed)
            return sum(int(n) for n in await pipe.execute())

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``POLL_SECONDS`` (sooner when a job is due sooner) until ``stop``."""
        while not stop.is_set():
            try:
                moved = await self.move_due()
            except (RedisError, OSError) as exc:
                log.warning("delayed send jobs: Redis unavailable (%s)", type(exc).__name__)
                await sleep_or_stop(stop, 0.5)
                continue
            if moved >= MOVE_AT_ONCE:
                continue
            wait = POLL_SECONDS
            if self.next_due_ms >= 0:
                wait = min(wait, max(0.01, (self.next_due_ms - self._throttle.now_ms()) / 1000))
            await sleep_or_stop(stop, wait)


