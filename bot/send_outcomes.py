"""What becomes of each job of a send batch: its outcome or delay, handed to the result writer.

A job of a batch ends one of three ways here: an :class:`~bot.send_jobs.Outcome` (sent, skipped,
failed), a :class:`~bot.send_jobs.Delay` (a failure where nothing left, a throttle, or following a
job delayed before it; its limits given back), or back in its worker's hands to be tried again
after a backoff when Redis failed before its call (``retry_later``). Each entry so handed on is
*settled*: a batch that crashes leaves only its unsettled entries for reclaim (``bot.send_batch``).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from .graph import GraphError, GraphThrottled
from .outbox import Entry
from .send_attempt import Attempt, BatchContext, Held, give_back
from .send_jobs import REPLIES, Delay, Outcome
from .throttle import PROBE_INTERVAL_MS

log = logging.getLogger("bot.send_batch")  # the batch's: these lines were its own before the split


class BatchOutcomes:
    """The results side of a :class:`~bot.send_batch.SendBatch`: what it hands on for each held entry."""

    def __init__(self, ctx: BatchContext, held: list[Held]) -> None:
        self.c = ctx
        self.held = held
        self.settled: set[bytes] = set()
    async def _throttled(self, a: Attempt, exc: GraphThrottled) -> bool:
        pause_ms = await self.c.throttle.throttled(exc, probe=a.probe)
        await give_back(self.c, a)
        reply = a.job.lane == REPLIES
        if reply:  # back for the next probe, not the end of the pause
            pause_ms = min(pause_ms, PROBE_INTERVAL_MS)
        retry = self.c.budget.after_throttle(a.record, self.c.throttle.now_ms(), pause_ms)
        if retry is not None and reply:
            retry = replace(retry, delay_ms=pause_ms)  # no jitter: the next probe slot, on the second
        if retry is None:
            code = f"{exc.code}/{exc.subcode}" if exc.subcode else str(exc.code or exc.http_status)
            log.warning("send job %s: still throttled after its budget; failed", a.job.id)
            self._finish(a, Outcome(a.job, "failed", via=a.route.via, reason=exc.reason, code=code,
                                    attempts=a.attempts + 1))
            return False
        self._finish(a, Delay(a.job, retry.delay_ms, "throttled", retry.attempts, retry.failed_since,
                              a.delays))
        return True

    async def _failed_where_nothing_left(self, a: Attempt, exc: GraphError) -> bool:
        """Refused connection, connect timeout, a Meta-side error: give back the limits, try again later."""
        await give_back(self.c, a)
        retry = self.c.budget.after_failure(a.record, self.c.throttle.now_ms())
        if retry is None:
            log.warning("send job %s: %s for %.0fs; failed", a.job.id, exc.reason, self.c.settings.send_retry_seconds)
            self._finish(a, Outcome(a.job, "failed", via=a.route.via, reason=exc.reason,
                                    code=str(exc.code or exc.http_status or ""),
                                    attempts=a.attempts + 1))
            return False
        log.info("send job %s: %s; tried again in %.1fs", a.job.id, exc.reason, retry.delay_ms / 1000)
        self._finish(a, Delay(a.job, retry.delay_ms, exc.reason, retry.attempts, retry.failed_since, a.delays))
        return True

    async def _follow(self, attempts: list[Attempt], behind: str, delay_ms: int = 0) -> None:
        """These wait behind a delayed job of the same recipient (or ``delay_ms`` when it is not delayed but
        on its way), so they still arrive after it."""
        for a in attempts:
            await give_back(self.c, a)
            self.c.uncalled.discard(a.job.id)
            self._finish(a, Delay(a.job, delay_ms, "following", a.attempts, -1, a.delays, behind=behind))
            behind, delay_ms = a.job.id, 0

    def _skip(self, a: Attempt) -> None:
        self._finish(a, Outcome(a.job, "skipped", reason=str(a.last_reason)))

    def _finish(self, a: Attempt, result: Outcome | Delay) -> None:
        a.done = True
        self._put(a.entry, result)

    def _put(self, entry: Entry, result: Outcome | Delay | None) -> None:
        if result is not None:
            self.c.uncalled.discard(result.job.id)
        self._settle(entry)
        self.c.results.put(entry, result)

    def _settle(self, entry: Entry) -> None:
        self.settled.add(entry.id)

    def _later(self, held: list[Held], exc: BaseException) -> None:
        log.warning("send worker %s: Redis %s before %d calls; they are tried again shortly", self.c.name,
                    type(exc).__name__, len(held))
        for entry, _ in held:
            self._settle(entry)
        if held:
            self.c.retry_later(held)
