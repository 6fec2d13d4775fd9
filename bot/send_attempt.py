"""One send job on its way through its plan's routes: its limits, its Graph call, giving back.

:class:`Attempt` holds where the job is (route, the limits it took, the OTN token it popped);
the functions here take a route's limits, make the call for it and give back what a send that
never left had taken. :class:`BatchContext` is what a batch (``bot.send_batch``) gets from its
worker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from .buckets import FREE, BucketDecision, SendLimits
from .cancels import CancelWatch
from .channels import meta_id
from .consent import ConsentStore, otn_token
from .errors import StorageUnavailable
from .graph import GraphClient, Usage, request_bodies
from .graph.utility import utility_send_body
from .instagram_payloads import instagram_message
from .keys import Keys
from .outbox import Entry, Outbox
from .policy import Plan, Reason, Route
from .rate_gate import RateGate
from .reclaim import Reclaimer
from .region_lookup import RegionLookup
from .send_facts import FactsLoader
from .send_jobs import SendJob, SendRecord
from .send_refusals import Refusals
from .send_results import ResultWriter
from .send_retry import RetryBudget
from .settings import Settings
from .throttle import PageThrottle

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisError, OSError, StorageUnavailable)
Held = tuple[Entry, bytes]  # a stream entry in hand and its job's JSON


ALIVE_TTL_SECONDS = 3.0  # a send worker's liveness key lives this long; renewed every second


@dataclass
class Attempt:
    """One job on its way through the routes of its plan."""

    entry: Entry
    raw: bytes
    job: SendJob
    plan: Plan
    record: SendRecord | None  # as loaded with the batch (failed attempts, delays)
    wait_for: str = ""  # a job in another batch (maybe another worker) that must finish first
    after: str = ""  # the job to the same recipient that goes first, wherever it is
    route_index: int = 0
    last_reason: str = Reason.FREQUENCY
    decision: BucketDecision = FREE
    otn: str | None = None
    probe: bool = False  # goes as the paused Page's probe call
    done: bool = False  # its result was handed on (or it was left for a reclaim)
    marked_at: int = 0  # when this worker marked it sending (deployment ms), 0 = not yet
    unconfirmed: bool = False  # an earlier call of it may have reached Meta (reclaimed, nothing confirmed it)

    def seen(self, worker: str) -> SendRecord | None:
        """Its record as this worker last knew it: what its next mark expects to find (``Outbox.mark_sending``)."""
        if self.marked_at:
            return SendRecord("sending", owner=worker, sent_at=self.marked_at)
        return self.record

    @property
    def route(self) -> Route:
        return self.plan.routes[self.route_index]

    @property
    def attempts(self) -> int:
        return self.record.attempts if self.record else 0

    @property
    def delays(self) -> int:
        return self.record.delays if self.record else 0

    def next_route(self) -> bool:
        """Move to the plan's next route; False when none is left (the job is skipped, ``last_reason``)."""
        self.route_index += 1
        self.otn = None
        self.decision = FREE
        return self.route_index < len(self.plan.routes)


@dataclass
class BatchContext:
    """What a batch needs from its worker."""

    name: str
    keys: Keys
    settings: Settings
    outbox: Outbox
    consent: ConsentStore
    limits: SendLimits
    graph: GraphClient
    facts: FactsLoader
    refusals: Refusals
    reclaimer: Reclaimer
    throttle: PageThrottle
    budget: RetryBudget
    results: ResultWriter
    uncalled: set[str]  # job ids this worker marked sending and has not called yet
    retry_later: Callable[[list[Held]], None]  # Redis failed first: back in a moment, as they were
    leave: Callable[[Entry], None]  # left pending for a reclaim (a send whose answer was lost)
    redis_calm_for: Callable[[], float]  # seconds since this worker last met a Redis error
    cancels: CancelWatch  # campaigns cancelled since their jobs were loaded
    rate: RateGate  # the Page's send rate, this worker's replies before its campaign jobs
    alive: Callable[[str], Awaitable[bool]]  # is the send worker of this name running (its liveness key)?
    regions: RegionLookup  # where a shopper is, asked once when an OTN rule needs it


async def take_limits(c: BatchContext, a: Attempt) -> bool:
    """Take the route's frequency limits, moving on while refused; False when no route is left.

    A job asking again for its route (tried before, reclaimed, back from a delay) gets its own
    earlier take back without counting twice (``taken`` on its record), and its own OTN token.
    """
    while True:
        route = a.route
        a.decision = await c.limits.take(
            shopper=a.job.psid if a.plan.per_day else None, token=route.token, token_gap_ms=route.token_gap_ms,
            per_day=a.plan.per_day, page_rate=False, job_id=a.job.id, route=route.via)
        if a.decision.allowed and route.via == "otn":
            a.otn = await c.consent.take_otn(a.job.psid or "", a.job.topic or "", for_job=a.job.id,
                                             now_ms=c.throttle.now_ms())
            if a.otn is None:
                await c.limits.refund(a.decision)
                a.decision = BucketDecision(False, "no_token")
        if a.decision.allowed:
            return True
        if a.decision.reason == "no_token":
            a.last_reason = Reason.NO_TOKEN
        else:
            a.last_reason = Reason.PAGE_BUDGET if a.decision.reason == "page_budget" else Reason.FREQUENCY
        if not a.next_route():
            return False


async def call_graph(c: BatchContext, a: Attempt) -> tuple[str, Usage]:
    """The attempt's Send API (or Marketing Message API) call: the message id and the answer's usage.

    Throttles are raised at once (``reschedule_throttles``): the Page pauses, no call waits.
    """
    job, route = a.job, a.route
    if route.via == "marketing_api":
        body = request_bodies.marketing_api_body(c.settings.message_campaign_id, route.token or "",
                                                 job.marketing_message or job.message)
        answer = await c.graph.send_marketing(body, reschedule_throttles=True)
        return answer.tracking_id or "", answer.usage
    if route.via == "utility":
        u = job.utility or {}
        body = utility_send_body(job.psid or "", str(u.get("template", "")), str(u.get("language", "")),
                                 u.get("params") or {}, metadata=job.id)
        sent = await c.graph.send(body, reschedule_throttles=True)
        return sent.message_id or "", sent.usage
    if route.via in ("instagram", "instagram_comment"):
        to = (request_bodies.to_comment(job.comment_id or "") if route.via == "instagram_comment"
              else request_bodies.to_psid(meta_id(job.psid or "")))
        body = request_bodies.send_body(to, instagram_message(job.message), metadata=job.id,
                                        messaging_type=route.messaging_type)
        sent = await c.graph.send_instagram(c.settings.instagram_account_id, body, reschedule_throttles=True)
        return sent.message_id or "", sent.usage
    if route.via == "thread":
        edge, thread_body = request_bodies.thread_control_body(job.psid or "", job.message)
        return "", await c.graph.thread_control(edge, thread_body, reschedule_throttles=True)
    if route.via == "comment":
        recipient = request_bodies.to_comment(job.comment_id or "")
    elif route.via == "marketing_legacy":
        recipient = request_bodies.to_marketing_token(route.token or "")
    elif route.via == "otn":
        recipient = request_bodies.to_otn_token(otn_token(a.otn or ""))
    else:
        recipient = request_bodies.to_psid(job.psid or "")
    body = request_bodies.send_body(recipient, job.message, messaging_type=route.messaging_type, tag=route.tag,
                                    metadata=job.id)
    sent = await c.graph.send(body, reschedule_throttles=True)
    return sent.message_id or "", sent.usage


async def give_back(c: BatchContext, a: Attempt) -> None:
    """The limits and OTN token of a send that never left. Best effort: a job asking again for its
    route gets its own take and token back anyway (``taken`` and ``otn`` on its record)."""
    try:
        await c.limits.refund(a.decision)
        if a.otn:
            await c.consent.return_otn(a.job.psid or "", a.job.topic or "", a.otn, for_job=a.job.id)
    except REDIS_DOWN as exc:
        log.warning("send job %s: limits not given back (%s)", a.job.id, type(exc).__name__)
    a.decision, a.otn = FREE, None
