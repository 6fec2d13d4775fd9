"""What to do with a job another worker left ``sending``: the one decision about uncertain sends.

A worker marks a job ``sending`` (with the time, ``sent_at``) just before its call and writes the
outcome right after. A job still ``sending`` when a different worker picks it up — its first worker
died, or is alive but slow — may or may not have reached Meta. Sending it again risks a duplicate;
not sending it risks a loss. So the job is resolved from evidence, in this order:

1. **Its echo.** Meta echoes every message the Page sends (``message_echoes``) with our
   ``metadata``, the job id (``bot.tracking.remember_echo``): the send happened.
2. **Time to settle.** Until ``ECHO_WAIT_SECONDS`` after ``sent_at`` the job is left alone
   (:data:`LEAVE`): an alive first worker finishes and writes its outcome, and a late echo
   (behind a busy inbox, or Meta's own delay) arrives. The entry stays pending and is looked at
   again after the reclaim interval.
3. **A look-up.** Past that, a Send API job is looked for in the shopper's thread (the
   Conversations API, ``GraphClient.thread_messages``): a message from the Page, created at or
   after ``sent_at`` (Graph gives seconds; allow :data:`CLOCK_SKEW_MS`), with the job's text
   (``payloads.summary``). Found: sent. Not found: the request never reached Meta, and it is
   sent now with the limits its first worker took. A Marketing Message API job is looked for
   among the ``marketing_message_echoes`` (by its subscription token, at or after ``sent_at``):
   found, sent. Not found while Meta has echoed a send made after it (echoes flow, this one would
   have come): it never reached Meta, and it is sent now. Not found and no later echo either by
   twice ``ECHO_WAIT_SECONDS`` (echoes withheld, or the app not subscribed to them): it is
   recorded ``failed`` with reason
   ``uncertain`` — the API offers no look-up, it is paid per delivery, and a duplicate promotion
   is worse than a missing one. Every such send is counted
   (``salebell_sends_total{outcome="failed",reason="uncertain"}``).

The bound this gives: with echoes subscribed (``salebell profile sync`` subscribes and checks them)
no reclaimed send is duplicated or lost; without them, Send API jobs still resolve through the
look-up, Marketing Message API jobs are shown as uncertain. A look-up that fails (the Graph API is
down) leaves the job for the next round.
"""

from __future__ import annotations

import logging
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .graph import GraphClient, GraphError, payloads
from .keys import Keys
from .policy import Facts
from .replies import text
from .send_jobs import Outcome, SendJob, SendRecord
from .settings import Settings
from .tracking import marketing_echo_of

log = logging.getLogger(__name__)

CLOCK_SKEW_MS = 2_000


class _Leave:
    """Leave the job pending: not enough is known yet."""

    def __repr__(self) -> str:
        return "LEAVE"


LEAVE: Final = _Leave()
Resolution = Outcome | _Leave | None


class Reclaimer:
    """Resolves reclaimed ``sending`` jobs from echoes, time and look-ups."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, graph: GraphClient) -> None:
        self._redis = redis
        self._keys = keys
        self._page_id = settings.page_id
        self._wait_ms = int(settings.echo_wait_seconds * 1000)
        self._graph = graph

    async def resolve(self, job: SendJob, record: SendRecord, echo: str, facts: Facts) -> Resolution:
        """An outcome, :data:`LEAVE` (look again later) or None (it never left: send it now)."""
        if echo:
            log.info("send job %s: an earlier worker's send is confirmed by its echo", job.id)
            return Outcome(job, "sent", via=record.via, message_id=echo)
        if job.purpose == "thread_control":  # no message, no echo to wait for; a repeated call is refused, harmless
            return None
        if facts.now_ms < record.sent_at + self._wait_ms:
            return LEAVE
        if record.via == "marketing_api":
            return await self._marketing(job, record, facts)
        return await self._looked_up(job, record)

    async def _looked_up(self, job: SendJob, record: SendRecord) -> Resolution:
        if not job.psid:  # a private reply: sent again; Meta refuses a second, which confirms the first (send_refusals)
            return None
        try:
            messages = await self._graph.thread_messages(self._page_id, job.psid)
        except GraphError as exc:
            log.warning("send job %s: its thread could not be read (%s); looked at again later", job.id, exc.reason)
            return LEAVE
        # a utility message names its template; the shopper's thread shows it rendered (the job carries that)
        text = str((job.utility or {}).get("text") or "") if record.via == "utility" else payloads.summary(job.message)
        if not text:  # nothing to recognise it by: sending again could make a duplicate
            log.warning("send job %s: unconfirmed %s send with no text to look for; not resent (uncertain)", job.id,
                        record.via)
            return Outcome(job, "failed", via=record.via, reason="uncertain")
        for m in messages:
            if m.from_id == self._page_id and m.created_ms >= record.sent_at - CLOCK_SKEW_MS and m.text == text:
                log.info("send job %s: its send is in the shopper's thread (%s)", job.id, m.id)
                return Outcome(job, "sent", via=record.via, message_id=m.id)
        log.info("send job %s: not in the shopper's thread; it never reached Meta, sent now", job.id)
        return None

    async def _marketing(self, job: SendJob, record: SendRecord, facts: Facts) -> Resolution:
        sub = facts.consent.subscription if facts.consent else None
        try:
            seen, latest = await marketing_echo_of(self._redis, self._keys, sub.token if sub else None)
        except (RedisError, OSError):
            return LEAVE
        if seen:
            at, _, tracking = text(seen).partition(":")
            if int(at or 0) >= record.sent_at - CLOCK_SKEW_MS:
                log.info("send job %s: confirmed by its Marketing Message API echo", job.id)
                return Outcome(job, "sent", via=record.via, message_id=tracking)
        if int(latest or 0) > record.sent_at + CLOCK_SKEW_MS:
            log.info("send job %s: later sends are echoed, this one is not: it never reached Meta, sent now", job.id)
            return None
        if facts.now_ms < record.sent_at + 2 * self._wait_ms + CLOCK_SKEW_MS:  # time for a later send's echo
            return LEAVE
        log.warning("send job %s: unconfirmed Marketing Message API send; not resent (uncertain)", job.id)
        return Outcome(job, "failed", via=record.via, reason="uncertain")
