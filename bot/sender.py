"""Send workers: read the outbox, ask the policy, take the buckets, send, record.

Jobs are handled in batches: one Redis round trip reads every job's record and
facts, the policy decides each, the limits are taken (SendLimits batches its own
calls), the jobs about to go are marked ``sending`` together, the HTTP calls run
concurrently (one recipient's messages in order), and one transaction writes every outcome with the stream
acknowledgements. A batch costs a handful of round trips, not a handful per job.

Crash safety (DESIGN.md invariant 6). A job's record says ``sending`` from just
after its limits were taken until its outcome is written; its stream entry is
acknowledged in the same transaction as that outcome. A worker that dies leaves
its entries pending; after ``reclaim_idle`` another worker claims them and:

- finds a final record: acknowledges, nothing is sent again;
- finds ``sending``: the send may or may not have reached Meta. Every message
  carries the job id as ``metadata`` and Meta echoes it back; if the echo arrived
  (``tracking.remember_echo``) the job is recorded as sent, otherwise the request
  never left (or its echo is lost) and it is sent now, without taking its limits
  again. Marketing Message API sends have no echo: an unconfirmed one is recorded
  failed (``uncertain``) rather than risk a duplicate.

Live workers refresh their claims (XCLAIM JUSTID), so a job waiting for a rate
slot is never taken over by another worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .buckets import FREE, BucketDecision, SendLimits
from .clock import Clock
from .consent import ConsentStore, ShopperConsent, Subscription
from .graph import (
    FrequencyLimited, GraphClient, GraphError, GraphNetworkError, GraphThrottled, OptInLimited, OutsideWindow,
    RecipientUnavailable, TokenInvalid, TokenStopped,
)
from .graph import payloads
from .keys import Keys
from .outbox import TERMINAL, Outbox, Outcome, SendJob, SendRecord
from .policy import Facts, Plan, Reason, Route, decide
from .settings import Settings
from .streams import ensure_group, group_backlog, sleep_or_stop

log = logging.getLogger(__name__)

GROUP = "senders"
MAX_THROTTLE_ROUNDS = 5
BATCHES_IN_FLIGHT = 2
AFTER_WAIT_SECONDS = 5.0
FACTS_SCRIPT = (Path(__file__).with_name("sender_facts.lua")).read_text()


@dataclass
class _Attempt:
    """One job on its way through the routes of its plan."""

    entry_id: bytes
    job: SendJob
    plan: Plan
    resume: SendRecord | None
    route_index: int = 0
    last_reason: str = Reason.FREQUENCY
    decision: BucketDecision = FREE
    otn: str | None = None
    outcome: Outcome | None = None
    pending: bool = False  # leave the entry for reclaim (maybe sent, or throttled too long)
    wait_for: str = ""  # a job in another batch (maybe another worker) that must finish first

    @property
    def route(self) -> Route:
        return self.plan.routes[self.route_index]


class SendWorker:
    """One process's send loop; up to ``concurrency`` jobs a batch, two batches in flight."""

    def __init__(self, *, redis: Redis, keys: Keys, settings: Settings, clock: Clock, outbox: Outbox,
                 consent: ConsentStore, limits: SendLimits, graph: GraphClient, name: str) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._clock = clock
        self._outbox = outbox
        self._consent = consent
        self._limits = limits
        self._graph = graph
        self.name = name
        self.batch_size = max(1, settings.send_concurrency)
        self.reclaim_idle_ms = int(settings.reclaim_idle_seconds * 1000)
        self._in_flight: set[bytes] = set()
        self._facts_script = redis.register_script(FACTS_SCRIPT)

    async def ensure_group(self) -> None:
        await ensure_group(self._redis, self._keys.outbox, GROUP)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; Redis outages are waited out."""
        batches: set[asyncio.Task[None]] = set()
        heartbeat = asyncio.create_task(self._keep_claims_fresh(stop))
        while not stop.is_set():
            if len(batches) >= BATCHES_IN_FLIGHT:
                await asyncio.wait(batches, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                await self.ensure_group()
                entries = await self._next_batch(self.batch_size, block_ms=200)
            except (RedisError, OSError) as exc:
                log.warning("send worker %s: Redis unavailable (%s)", self.name, type(exc).__name__)
                await sleep_or_stop(stop, 0.5)
                continue
            if entries:
                task = asyncio.create_task(self._process_batch(entries))
                batches.add(task)
                task.add_done_callback(batches.discard)
        if batches:
            await asyncio.gather(*batches, return_exceptions=True)
        heartbeat.cancel()

    async def run_once(self) -> int:
        """Process what is in the outbox now, to the end (tests, burst mode). Returns jobs processed."""
        await self.ensure_group()
        done = 0
        while entries := await self._next_batch(self.batch_size, block_ms=None):
            await self._process_batch(entries)
            done += len(entries)
        return done

    async def pending(self) -> int:
        return await group_backlog(self._redis, self._keys.outbox, GROUP)

    async def _keep_claims_fresh(self, stop: asyncio.Event) -> None:
        """Reset the idle time of jobs in hand, so only a dead worker's jobs are reclaimed."""
        while not stop.is_set():
            await sleep_or_stop(stop, self.reclaim_idle_ms / 3000)
            ids = list(self._in_flight)
            if not ids:
                continue
            try:
                await self._redis.xclaim(self._keys.outbox, GROUP, self.name, min_idle_time=0,
                                         message_ids=ids, justid=True)
            except (RedisError, OSError) as exc:
                log.warning("send worker %s: could not refresh its claims (%s)", self.name, type(exc).__name__)

    async def _next_batch(self, count: int, block_ms: int | None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        _, claimed, *_ = await self._redis.xautoclaim(self._keys.outbox, GROUP, self.name,
                                                      min_idle_time=self.reclaim_idle_ms, count=count)
        entries = [(e, f) for e, f in claimed if f is not None]
        if entries:
            log.info("send worker %s reclaimed %d jobs", self.name, len(entries))
            return entries
        reply = await self._redis.xreadgroup(GROUP, self.name, {self._keys.outbox: ">"}, count=count, block=block_ms)
        return reply[0][1] if reply else []

    # -- one batch --------------------------------------------------------------
    async def _process_batch(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        ids = [e for e, _ in entries]
        self._in_flight.update(ids)
        try:
            await self._process_entries(entries)
        except (RedisError, OSError) as exc:
            log.warning("send batch of %d left pending: Redis %s", len(entries), type(exc).__name__)
        except Exception:
            log.exception("send batch of %d crashed; left pending for reclaim", len(entries))
        finally:
            self._in_flight.difference_update(ids)

    async def _process_entries(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        jobs: list[tuple[bytes, SendJob]] = []
        junk: list[bytes] = []
        for entry_id, fields in entries:
            try:
                jobs.append((entry_id, SendJob.from_json(fields[b"j"])))
            except (KeyError, ValueError, TypeError) as exc:
                log.error("outbox entry %s is not a send job (%s); dropped", entry_id, exc)
                junk.append(entry_id)
        records, facts, echoes = await self._load([job for _, job in jobs])
        in_batch = {job.id for _, job in jobs}  # their order is kept by _send_in_order
        done: list[tuple[bytes, Outcome | None]] = [(e, None) for e in junk]
        attempts: list[_Attempt] = []
        for (entry_id, job), record, fact, echo in zip(jobs, records, facts, echoes):
            if record is not None and record.state in TERMINAL:
                done.append((entry_id, None))
                continue
            resume = record if record is not None and record.state == "sending" else None
            if resume is not None and echo:
                log.info("send job %s: an earlier worker's send is confirmed by its echo", job.id)
                done.append((entry_id, Outcome(job, "sent", via=resume.via, message_id=echo)))
                continue
            if resume is not None and resume.via == "marketing_api":
                log.warning("send job %s: unconfirmed Marketing Message API send; not resent", job.id)
                done.append((entry_id, Outcome(job, "failed", via=resume.via, reason="uncertain")))
                continue
            plan = decide(job.purpose, fact, self._settings, explicit=job.explicit)
            if plan.skip is not None:
                done.append((entry_id, Outcome(job, "skipped", reason=plan.skip)))
            else:
                wait_for = job.after if job.after and job.after not in in_batch else ""
                attempts.append(_Attempt(entry_id, job, plan, resume, wait_for=wait_for))
        while attempts:
            await self._attempt_round(attempts)
            for a in attempts:
                if a.outcome is not None:
                    done.append((a.entry_id, a.outcome))
            attempts = [a for a in attempts if a.outcome is None and not a.pending]
        await self._write(done, sent_ms=facts[0].now_ms if facts else None)

    async def _load(self, jobs: list[SendJob]) -> tuple[list[SendRecord | None], list[Facts], list[str]]:
        """Every job's record, echo and policy facts: one script call, one reply string per job."""
        k = self._keys
        topic_default = self._settings.optin_topic
        keys = [k.clock_offset, k.window, k.opted_out, k.unreachable]
        args: list[str] = []
        for job in jobs:
            topic = job.topic or topic_default
            keys += [k.send_record(job.id), k.echo_seen(job.id), k.optin_asked(job.psid or ""),
                     k.private_replied(job.comment_id or ""),
                     k.campaign_cancelled(job.campaign) if job.campaign else k.campaign_cancelled("-"),
                     k.subscribers(topic), k.otn_tokens(topic)]
            args += [job.psid or "", job.title or ""]
        now_raw, *rows = await self._facts_script(keys=keys, args=args)
        now = int(now_raw)
        records: list[SendRecord | None] = []
        facts: list[Facts] = []
        echoes: list[str] = []
        for job, row in zip(jobs, rows):
            (state, via, echo, window, asked, replied, cancelled, packed, otn, opted_out,
             unreachable) = row.decode().split("\x1f")
            records.append(SendRecord(state=state, via=via) if state else None)
            echoes.append(echo)
            consent = None
            if job.psid:
                topic = job.topic or topic_default
                consent = ShopperConsent(
                    subscription=Subscription.unpack(job.psid, topic, packed) if packed else None,
                    otn_tokens=len(otn.split()), opted_out=opted_out == "1", unreachable=unreachable == "1")
            facts.append(Facts(now_ms=now, last_action_ms=int(window or 0), consent=consent,
                               optin_asked_ms=int(asked or 0), comment_ms=job.comment_ms,
                               already_replied=replied == "1", cancelled=cancelled == "1"))
        return records, facts, echoes

    async def _attempt_round(self, attempts: list[_Attempt]) -> None:
        """Try each attempt's current route: take limits, mark sending, wait for the rate, send."""
        await asyncio.gather(*(self._take(a) for a in attempts))
        ready = [a for a in attempts if a.outcome is None and not a.pending and a.decision.allowed]
        if ready:
            await self._outbox.mark_sending([(a.job, a.route.via) for a in ready], self.name)
            await asyncio.gather(*(self._send_in_order(same) for same in _by_recipient(ready)))

    async def _send_in_order(self, attempts: list[_Attempt]) -> None:
        """One recipient's messages one after the other, in outbox order (a reply's text, then its card)."""
        for a in attempts:
            if a.wait_for:
                await self._wait_for_job(a.wait_for)
            await self._send(a)

    async def _wait_for_job(self, job_id: str) -> None:
        """Until the job that goes first has an outcome (its worker writes it after its batch), at most
        ``AFTER_WAIT_SECONDS``: a predecessor stuck with a dead worker delays, never blocks, the next."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AFTER_WAIT_SECONDS
        while loop.time() < deadline:
            record = await self._outbox.record(job_id)
            if record is None or record.state in TERMINAL:
                return
            await asyncio.sleep(0.02)
        log.info("send job after %s: still unfinished after %.0fs; sending anyway", job_id, AFTER_WAIT_SECONDS)

    async def _take(self, a: _Attempt) -> None:
        """Take the route's frequency limits (not twice for a resumed job); move on or give up if refused."""
        while True:
            route = a.route
            resuming = a.resume is not None and a.resume.via == route.via
            if resuming:
                a.decision = FREE
            else:
                a.decision = await self._limits.take(
                    shopper=a.job.psid if a.plan.per_day else None, token=route.token,
                    token_gap_ms=route.token_gap_ms, per_day=a.plan.per_day, page_rate=False,
                    job_id=a.job.id, route=route.via)
            if a.decision.allowed and route.via == "otn":
                # a resumed job gets back the token its first worker popped (kept on its record)
                a.otn = await self._consent.take_otn(a.job.psid or "", a.job.topic or "", for_job=a.job.id)
                if a.otn is None:
                    await self._limits.refund(a.decision)
                    a.decision = BucketDecision(False, "no_token")
            if a.decision.allowed:
                return
            if a.decision.reason == "no_token":
                a.last_reason = Reason.NO_TOKEN
            else:
                a.last_reason = Reason.PAGE_BUDGET if a.decision.reason == "page_budget" else Reason.FREQUENCY
            if not self._next_route(a):
                return

    def _next_route(self, a: _Attempt) -> bool:
        """Move to the plan's next route; when none is left, the job is skipped with the last reason."""
        a.route_index += 1
        a.otn = None
        a.decision = FREE
        if a.route_index < len(a.plan.routes):
            return True
        a.outcome = Outcome(a.job, "skipped", reason=str(a.last_reason))
        return False

    async def _send(self, a: _Attempt) -> None:
        await self._limits.acquire()  # the Page's send rate, shared by every worker
        for _ in range(MAX_THROTTLE_ROUNDS):
            try:
                message_id = await self._call(a.job, a.route, a.otn)
            except GraphThrottled as exc:
                wait = exc.retry_after or 30.0
                log.warning("send job %s throttled by Meta (code %s); waiting %.0fs", a.job.id, exc.code, wait)
                await asyncio.sleep(min(wait, 60.0))
                continue
            except GraphNetworkError as exc:
                if exc.sent_maybe:
                    log.warning("send job %s: answer lost after sending; the echo will tell", a.job.id)
                    a.pending = True
                    return
                await self._give_back(a)
                a.outcome = Outcome(a.job, "failed", via=a.route.via, reason="network")
                return
            except GraphError as exc:
                await self._refused(a, exc)
                return
            a.outcome = Outcome(a.job, "sent", via=a.route.via, message_id=message_id)
            return
        a.pending = True

    async def _call(self, job: SendJob, route: Route, otn: str | None) -> str:
        if route.via == "marketing_api":
            body = payloads.marketing_api_body(self._settings.message_campaign_id, route.token or "",
                                               job.marketing_message or job.message)
            return (await self._graph.send_marketing(body)).tracking_id or ""
        if route.via == "comment":
            recipient = payloads.to_comment(job.comment_id or "")
        elif route.via == "marketing_legacy":
            recipient = payloads.to_marketing_token(route.token or "")
        elif route.via == "otn":
            recipient = payloads.to_otn_token(otn or "")
        else:
            recipient = payloads.to_psid(job.psid or "")
        body = payloads.send_body(recipient, job.message, messaging_type=route.messaging_type, tag=route.tag,
                                  metadata=job.id)
        return (await self._graph.send(body)).message_id or ""

    async def _refused(self, a: _Attempt, exc: GraphError) -> None:
        """Meta said no: learn from it, then try the next route or record the failure."""
        job, route = a.job, a.route
        psid, topic = job.psid or "", job.topic or self._settings.optin_topic
        code = f"{exc.code}/{exc.subcode}" if exc.subcode else str(exc.code)
        log.info("send job %s refused on %s: %s (code %s, fbtrace %s)", job.id, route.via, exc.reason, code,
                 exc.fbtrace_id)
        if isinstance(exc, FrequencyLimited) and route.token:
            await self._limits.defer_token(route.token, await self._clock.now_ms() + route.token_gap_ms)
            a.last_reason = Reason.FREQUENCY
            self._next_route(a)
            return
        if isinstance(exc, TokenStopped) and route.via.startswith("marketing"):
            await self._consent.set_status(psid, topic, "stopped")
            a.outcome = Outcome(job, "skipped", via=route.via, reason=Reason.TOKEN_STOPPED, code=code)
            return
        if isinstance(exc, TokenInvalid) and route.via in ("marketing_legacy", "marketing_api", "otn"):
            if route.via != "otn":
                await self._consent.forget_token(psid, topic)
            a.last_reason = Reason.NO_TOKEN
            self._next_route(a)
            return
        if isinstance(exc, OutsideWindow) and route.via == "psid":
            await self._limits.refund(a.decision)
            a.last_reason = Reason.OUTSIDE_WINDOW
            self._next_route(a)
            return
        if isinstance(exc, RecipientUnavailable):
            await self._consent.mark_unreachable(psid, code)
        if isinstance(exc, OptInLimited) and job.title:
            await self._redis.hset(self._keys.optin_asked(psid), job.title, await self._clock.now_ms())
        a.outcome = Outcome(job, "failed", via=route.via, reason=exc.reason, code=code)

    async def _give_back(self, a: _Attempt) -> None:
        await self._limits.refund(a.decision)
        if a.otn:
            await self._consent.return_otn(a.job.psid or "", a.job.topic or "", a.otn, for_job=a.job.id)

    async def _write(self, done: list[tuple[bytes, Outcome | None]], sent_ms: int | None = None) -> None:
        """Every outcome and its acknowledgement, in one transaction."""
        if not done:
            return
        outcomes = [o for _, o in done if o is not None]
        now = await self._clock.now_ms()
        for o in outcomes:
            if o.outcome == "sent" and o.job.purpose in ("optin_request", "otn_request") and o.job.title:
                o.extra_writes[self._keys.optin_asked(o.job.psid or "")] = (o.job.title, now)
            if o.outcome == "sent" and o.job.comment_id:
                o.extra_writes[self._keys.private_replied(o.job.comment_id)] = "1"
        ids = [e for e, _ in done]

        def ack(pipe: Any) -> None:
            pipe.xack(self._keys.outbox, GROUP, *ids)
            pipe.xdel(self._keys.outbox, *ids)

        await self._outbox.finish(outcomes, now, ack=ack, sent_ms=sent_ms)  # receipts: scored by the batch start


def _by_recipient(attempts: list[_Attempt]) -> list[list[_Attempt]]:
    """Attempts grouped by who receives them, each group in outbox order; groups go concurrently."""
    groups: dict[str, list[_Attempt]] = {}
    for a in attempts:
        groups.setdefault(a.job.psid or a.job.comment_id or a.job.id, []).append(a)
    return list(groups.values())
