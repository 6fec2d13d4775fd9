"""One batch of send jobs: decide, take the limits, mark, call in order per recipient, hand on each result.

A batch costs a handful of round trips, not a handful per job: one script reads every job's
record and facts, the policy decides each, the limits are taken together (SendLimits batches
its calls), the jobs about to go are marked ``sending`` together, and the calls run
concurrently, one recipient's messages in order. Each job's result goes to the
:class:`~bot.send_results.ResultWriter` the moment it is known.

Redis failing before a job's call leaves the job untouched in its stream, in this worker's hands,
to be tried again by it after a backoff (``retry_later``). After the call, the result is kept
until written. A job this worker marked ``sending`` and then could not call (``uncalled``) is
known not to have left, unless another worker has marked it since; a ``sending`` job it knows
nothing of goes to :class:`bot.reclaim.Reclaimer`. The mark is fenced (``Outbox.mark_sending``):
a job whose record changed since the batch loaded it belongs to the worker that changed it, and is
let go of, neither called nor given back.
"""

from __future__ import annotations

import asyncio
import logging

from .graph import GraphError, GraphNetworkError, GraphThrottled, GraphTransient
from .instagram_policy import for_channel
from .logs import about, shopper_hash
from .outbox import Entry
from .policy import Facts, Reason, decide
from .rate_gate import CAMPAIGN, REPLY
from .reclaim import LEAVE
from .region_lookup import needs_region
from .send_attempt import ALIVE_TTL_SECONDS, REDIS_DOWN, Attempt, call_graph, give_back, take_limits
from .send_facts import JobFacts
from .send_jobs import REPLIES, TERMINAL, Delay, Outcome, SendJob
from .send_order import by_recipient
from .send_outcomes import BatchOutcomes

log = logging.getLogger(__name__)

FOLLOW_MS = 100  # how long a job parks while the job before it is on its way elsewhere
STUCK_MS = 60_000  # a job before it still sending this long after it was marked: go anyway (its answer was
# lost, and its reclaim is slow to tell); a dead worker's is passed as soon as the worker is seen gone


class _RedisDown(Exception):
    """Redis failed before a job's call: it is tried again later, as it was."""


class SendBatch(BatchOutcomes):
    """Processes one batch of held entries to the end; never raises for a Redis error."""

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
        regions = await self._regions(jobs, loaded)
        attempts: list[Attempt] = []
        for (entry, raw, job), known in zip(jobs, loaded):
            record = known.record
            if record is not None and (record.state in TERMINAL or record.state == "delayed"):
                self._put(entry, None)  # finished, or waiting in its delayed ZSET: this entry is a leftover
                continue
            unconfirmed = False  # an earlier call may have reached Meta: its resend's refusal can confirm it
            if record is not None and record.state == "sending" and not self._marked_uncalled(job.id, record.owner):
                unconfirmed = True
                try:
                    resolved = await self.c.reclaimer.resolve(job, record, known.echo, known.facts)
                except REDIS_DOWN as exc:
                    self._later([(entry, raw)], exc)
                    continue
                if resolved is LEAVE:  # looked at again after the reclaim interval
                    self._settle(entry)
                    self.c.leave(entry)
                    continue
                if isinstance(resolved, Outcome):
                    self._put(entry, resolved)
                    continue
            facts = regions[job.id]
            if isinstance(facts, BaseException):
                self._later([(entry, raw)], facts)
                continue
            plan = for_channel(job, decide(job.purpose, facts, self.c.settings, explicit=job.explicit,
                                           free_text=job.free_text, utility=job.utility is not None), facts)
            if plan.skip is not None:
                self._put(entry, Outcome(job, "skipped", reason=plan.skip))
            else:
                after = job.after or (record.after if record is not None else "")
                wait_for = after if after and after not in in_batch else ""
                attempts.append(Attempt(entry, raw, job, plan, record, wait_for=wait_for, after=after,
                                        unconfirmed=unconfirmed))
        while attempts:
            attempts = await self._round(attempts)

    async def _regions(self, jobs: list[tuple[Entry, bytes, SendJob]],
                       loaded: list[JobFacts]) -> dict[str, Facts | BaseException]:
        """Each job's facts with its shopper's region asked of Meta where an OTN rule needs it (those at once;
        the rest, nearly every job, as loaded: no task per job on the send path)."""
        facts: dict[str, Facts | BaseException] = {job.id: known.facts for (_, _, job), known in zip(jobs, loaded)}
        asking = [(job, known.facts) for (_, _, job), known in zip(jobs, loaded) if needs_region(job, known.facts)]
        found = await asyncio.gather(*(self.c.regions.complete(job, known) for job, known in asking),
                                     return_exceptions=True)
        for (job, _), result in zip(asking, found):
            if isinstance(result, BaseException) and not isinstance(result, REDIS_DOWN):
                raise result
            facts[job.id] = result
        return facts

    async def _round(self, attempts: list[Attempt]) -> list[Attempt]:
        """Try each attempt's current route; returns those that move on to another route."""
        try:
            if self.c.throttle.paused:  # nothing is taken for a job that would only wait
                attempts = await self._through_the_pause(attempts)
            taken = await asyncio.gather(*(take_limits(self.c, a) for a in attempts), return_exceptions=True)
            for a, result in zip(attempts, taken):
                if isinstance(result, BaseException):
                    raise result
                if not result:
                    self._skip(a)
            ready = [a for a in attempts if not a.done]
            if ready:
                self.c.uncalled.update(a.job.id for a in ready)
                marked = await self.c.outbox.mark_sending(
                    [(a.job, a.route.via) for a in ready], self.c.name, self.c.outbox.day(self.c.throttle.now_ms()),
                    seen={a.job.id: a.seen(self.c.name) for a in ready})
                self.c.throttle.saw_now(marked.now_ms)
                ready = self._marked(ready, marked.now_ms, marked.refused)
        except (*REDIS_DOWN, _RedisDown) as exc:
            self._later([(a.entry, a.raw) for a in attempts if not a.done], exc)
            return []
        again: list[Attempt] = []
        await asyncio.gather(*(self._send_in_order(same, again) for same in by_recipient(ready)))
        return again

    def _marked_uncalled(self, job_id: str, owner: str) -> bool:
        """This worker marked the job and knows it did not call since (a Redis error came between), and
        no other worker has marked it since: it may go now without waiting for its echo."""
        return job_id in self.c.uncalled and owner == self.c.name

    def _marked(self, ready: list[Attempt], now_ms: int, refused: frozenset[str]) -> list[Attempt]:
        """The attempts this worker marked; a job another worker marked first (it reclaimed the entry
        from this one, or this one from it, while both were alive) is left to that worker: this one
        lets go of the entry and gives back nothing (the job's limits are one take, the job's, which
        the other worker uses). A job after a left one waits for it like one held elsewhere."""
        going = []
        for a in ready:
            if a.job.id in refused:
                log.info("send job %s: marked or finished by another worker since it was loaded; left to it", a.job.id)
                a.done = True
                self.c.uncalled.discard(a.job.id)
                self._settle(a.entry)
                self.c.leave(a.entry)
                continue
            a.marked_at = now_ms
            if a.after in refused:
                a.wait_for = a.after
            going.append(a)
        return going

    async def _send_in_order(self, attempts: list[Attempt], again: list[Attempt]) -> None:
        """One recipient's messages one after the other, in outbox order (a reply's text, then its card)."""
        for i, a in enumerate(attempts):
            try:
                if a.wait_for:
                    behind = await self._unfinished_before(a)
                    if behind is not None:
                        await self._follow(attempts[i:], behind, FOLLOW_MS if not behind else 0)
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

    async def _unfinished_before(self, a: Attempt) -> str | None:
        """None when the job before this one (held by another batch or worker) has an outcome, or sits
        with a dead worker (marked sending by a worker whose liveness key is gone, once Redis has
        answered this worker long enough for live workers to have renewed theirs; or sending for
        ``STUCK_MS``): a dead worker's job delays, never blocks, the next. Else what to wait behind:
        the predecessor's id when it waits in the delayed ZSET, '' when it is on its way (queued, or
        being sent by a live worker, however long its Page rate or a pause keeps it). Waiting is
        never done inside the batch: the job is parked briefly instead, so a shopper's chain of
        replies never fills a worker with waiters."""
        try:
            record = await self.c.outbox.record(a.wait_for)
            if record is None or record.state in TERMINAL:
                return None
            if record.state == "delayed":
                return a.wait_for
            if record.state != "sending":
                return ""
            age_ms = self.c.throttle.now_ms() - record.sent_at if record.sent_at else 0
            dead = (bool(record.owner) and self.c.redis_calm_for() > ALIVE_TTL_SECONDS
                    and not await self.c.alive(record.owner))
        except REDIS_DOWN as exc:
            raise _RedisDown(str(exc)) from exc
        if dead or age_ms > STUCK_MS:
            log.info("send job %s: %s before it is %s; sent anyway", a.job.id, a.wait_for,
                     f"with a dead worker ({record.owner})" if dead else f"sending for {age_ms / 1000:.0f}s")
            return None
        return ""

    async def _send(self, a: Attempt) -> bool:
        """Call Meta for the attempt and hand on the result; True if the job now waits to be tried again."""
        with about(job=a.job.id, shopper=shopper_hash(a.job.psid or a.job.comment_id or "")):
            return await self._send_now(a)

    async def _send_now(self, a: Attempt) -> bool:
        if not a.probe and self.c.throttle.paused and await self._held_by_pause(a):
            return True
        try:
            await self.c.rate.wait(REPLY if a.job.lane == REPLIES else CAMPAIGN)  # the Page's rate, replies first
            if a.job.campaign and await self.c.cancels.cancelled(a.job.campaign):
                await give_back(self.c, a)
                self._finish(a, Outcome(a.job, "skipped", reason=Reason.CANCELLED))
                return False
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
            reaction = await self.c.refusals.react(a.job, a.route, exc, unconfirmed=a.unconfirmed)
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

    async def _through_the_pause(self, attempts: list[Attempt]) -> list[Attempt]:
        """During a pause, per recipient in chain order: the head of the line may go as the probe; once one
        waits, the ones after it wait behind it. A job whose predecessor is elsewhere asks only once that
        one is done (in ``_send``): the probe must go to the head of a shopper's line, not to its tail."""
        going: list[Attempt] = []
        for group in by_recipient(attempts):
            for i, a in enumerate(group):
                if a.wait_for:
                    going += group[i:]
                    break
                if await self._held_by_pause(a):
                    await self._follow(group[i + 1:], a.job.id)
                    break
                going.append(a)
        return going

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
