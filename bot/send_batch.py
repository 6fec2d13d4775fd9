"""One batch of send jobs: decide, take the limits, mark, call in order per recipient, hand on each result.

A batch costs a handful of round trips, not a handful per job: one script reads every job's
record and facts, the policy decides each, the limits are taken together (SendLimits batches
its calls), the jobs about to go are marked ``sending`` together, and the calls run
concurrently, one recipient's messages in order. Each job's result goes to the
:class:`~bot.send_results.ResultWriter` the moment it is known.

Redis failing before a job's call leaves the job untouched in its stream, in this worker's hands,
to be tried again by it after a backoff (``retry_later``). After the call, the result is kept
until written. A job this worker marked ``sending`` and then could not call (``uncalled``) is
known not to have left; a ``sending`` job it knows nothing of goes to
:func:`bot.reclaim.resolve_reclaimed`.
"""

from __future__ import annotations

import asyncio
import logging

from .graph import GraphError, GraphNetworkError, GraphThrottled, GraphTransient
from .outbox import TERMINAL, Delay, Entry, Outcome, SendJob, day_of
from .policy import decide
from .reclaim import resolve_reclaimed
from .send_attempt import REDIS_DOWN, Attempt, BatchContext, Held, call_graph, give_back, take_limits

log = logging.getLogger(__name__)

AFTER_WAIT_SECONDS = 5.0


class _RedisDown(Exception):
    """Redis failed before a job's call: it is tried again later, as it was."""


class SendBatch:
    """Processes one batch of held entries to the end; never raises for a Redis error."""

    def __init__(self, ctx: BatchContext, held: list[Held]) -> None:
        self.c = ctx
        self.held = held
        self.settled: set[bytes] = set()

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("send batch of %d crashed; its unfinished jobs are left pending for reclaim",
                          len(self.held))
            for entry, _ in self.held:
                if entry.id not in self.settled:
                    self._settle(entry)
                    self.c.leave(entry)

    async def _run(self) -> None:
        jobs: list[tuple[Entry, bytes, SendJob]] = []
        for entry, raw in self.held:
            try:
                jobs.append((entry, raw, SendJob.from_json(raw)))
            except (KeyError, ValueError, TypeError) as exc:
                log.error("outbox entry %s is not a send job (%s); dropped", entry.id, exc)
                self._put(entry, None)
        try:
            now, loaded = await self.c.facts.load([job for _, _, job in jobs])
        except REDIS_DOWN as exc:
            return self._later([(e, r) for e, r, _ in jobs], exc)
        self.c.throttle.saw_now(now)
        in_batch = {job.id for _, _, job in jobs}  # their order is kept by _send_in_order
        attempts: list[Attempt] = []
        for (entry, raw, job), known in zip(jobs, loaded):
            record = known.record
            if record is not None and (record.state in TERMINAL or record.state == "delayed"):
                self._put(entry, None)  # finished, or waiting in its delayed ZSET: this entry is a leftover
                continue
            if record is not None and record.state == "sending" and job.id not in self.c.uncalled:
                outcome = await resolve_reclaimed(job, record, known.echo)
                if outcome is not None:
                    self._put(entry, outcome)
                    continue
            plan = decide(job.purpose, known.facts, self.c.settings, explicit=job.explicit)
            if plan.skip is not None:
                self._put(entry, Outcome(job, "skipped", reason=plan.skip))
            else:
                after = job.after or (record.after if record is not None else "")
                wait_for = after if after and after not in in_batch else ""
                attempts.append(Attempt(entry, raw, job, plan, record, wait_for=wait_for))
        while attempts:
            attempts = await self._round(attempts)

    async def _round(self, attempts: list[Attempt]) -> list[Attempt]:
        """Try each attempt's current route; returns those that move on to another route."""
        try:
            if self.c.throttle.paused:  # nothing is taken for a job that would only wait
                attempts = [a for a in attempts if not await self._held_by_pause(a)]
            taken = await asyncio.gather(*(take_limits(self.c, a) for a in attempts), return_exceptions=True)
            for a, result in zip(attempts, taken):
                if isinstance(result, BaseException):
                    raise result
                if not result:
                    self._skip(a)
            ready = [a for a in attempts if not a.done]
            if ready:
                self.c.uncalled.update(a.job.id for a in ready)
                now = await self.c.outbox.mark_sending([(a.job, a.route.via) for a in ready], self.c.name,
                                                       day_of(self.c.throttle.now_ms()))
                self.c.throttle.saw_now(now)
        except (*REDIS_DOWN, _RedisDown) as exc:
            self._later([(a.entry, a.raw) for a in attempts if not a.done], exc)
            return []
        again: list[Attempt] = []
        await asyncio.gather(*(self._send_in_order(same, again) for same in _by_recipient(ready)))
        return again

    async def _send_in_order(self, attempts: list[Attempt], again: list[Attempt]) -> None:
        """One recipient's messages one after the other, in outbox order (a reply's text, then its card)."""
        for i, a in enumerate(attempts):
            try:
                if a.wait_for and await self._wait_for_job(a.wait_for) == "follow":
                    await self._follow(attempts[i:], a.wait_for)
                    return
                delayed = await self._send(a)
            except _RedisDown as exc:
                self._later([(b.entry, b.raw) for b in attempts[i:]], exc)
                return
            if delayed:  # what comes after it waits behind it
                await self._follow(attempts[i + 1:], a.job.id)
                return
            if not a.done:
                again.append(a)

    async def _wait_for_job(self, job_id: str) -> str:
        """'go' once the job that goes first has an outcome (at most ``AFTER_WAIT_SECONDS``: a predecessor
        stuck with a dead worker delays, never blocks, the next), 'follow' if it waits to be retried."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AFTER_WAIT_SECONDS
        while loop.time() < deadline:
            try:
                record = await self.c.outbox.record(job_id)
            except REDIS_DOWN as exc:
                raise _RedisDown(str(exc)) from exc
            if record is None or record.state in TERMINAL:
                return "go"
            if record.state == "delayed":
                return "follow"
            await asyncio.sleep(0.02)
        log.info("send job after %s: still unfinished after %.0fs; sending anyway", job_id, AFTER_WAIT_SECONDS)
        return "go"

    async def _send(self, a: Attempt) -> bool:
        """Call Meta for the attempt and hand on the result; True if the job now waits to be tried again."""
        if not a.probe and self.c.throttle.paused and await self._held_by_pause(a):
            return True
        try:
            await self.c.limits.acquire()  # the Page's send rate, shared by every worker
        except REDIS_DOWN as exc:
            raise _RedisDown(str(exc)) from exc
        self.c.uncalled.discard(a.job.id)
        try:
            message_id, usage = await call_graph(self.c, a)
        except GraphThrottled as exc:
            return await self._throttled(a, exc)
        except GraphNetworkError as exc:
            if exc.sent_maybe:
                log.warning("send job %s: answer lost after sending; left for the echo to tell", a.job.id)
                self._settle(a.entry)
                a.done = True
                self.c.leave(a.entry)
                return False
            return await self._failed_where_nothing_left(a, exc)
        except GraphTransient as exc:
            return await self._failed_where_nothing_left(a, exc)
        except GraphError as exc:
            reaction = await self.c.refusals.react(a.job, a.route, exc)
            if reaction.refund:
                await give_back(self.c, a)
            if reaction.outcome is not None:
                self._finish(a, reaction.outcome)
            else:
                a.last_reason = reaction.next_route
                if not a.next_route():
                    self._skip(a)
            return False
        self._finish(a, Outcome(a.job, "sent", via=a.route.via, message_id=message_id))
        await self.c.throttle.succeeded(usage, probe=a.probe)
        return False

    async def _held_by_pause(self, a: Attempt) -> bool:
        """The Page is paused: the job goes as the probe (False), or waits in the delayed ZSET (True)."""
        try:
            admission = await self.c.throttle.admit(a.job.purpose, a.job.lane)
        except REDIS_DOWN as exc:
            raise _RedisDown(str(exc)) from exc
        if admission.go:
            a.probe = admission.probe
            return False
        await give_back(self.c, a)
        self._finish(a, Delay(a.job, admission.wait_ms, "paused", a.attempts, -1, a.delays))
        return True

    async def _throttled(self, a: Attempt, exc: GraphThrottled) -> bool:
        pause_ms = await self.c.throttle.throttled(exc, probe=a.probe)
        await give_back(self.c, a)
        retry = self.c.budget.after_throttle(a.record, self.c.throttle.now_ms(), pause_ms)
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

    async def _follow(self, attempts: list[Attempt], behind: str) -> None:
        """These wait behind a delayed job of the same recipient, so they still arrive after it."""
        for a in attempts:
            await give_back(self.c, a)
            self.c.uncalled.discard(a.job.id)
            self._finish(a, Delay(a.job, 0, "following", a.attempts, -1, a.delays, behind=behind))
            behind = a.job.id

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


def _by_recipient(attempts: list[Attempt]) -> list[list[Attempt]]:
    """Attempts grouped by who receives them, each group in outbox order; groups go concurrently."""
    groups: dict[str, list[Attempt]] = {}
    for a in attempts:
        groups.setdefault(a.job.psid or a.job.comment_id or a.job.id, []).append(a)
    return list(groups.values())
