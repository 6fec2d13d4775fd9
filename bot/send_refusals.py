"""Meta said no to a send: what we learn from it, and whether the job tries its next route.

Every refusal records what it tells about the shopper or the token (a STOP, a dead token, an
unreachable shopper, an opt-in request already made, a token's next eligible time) and then
either ends the job with its reason or moves it to the plan's next route. What it learns is best
effort: Redis failing here costs the lesson, never the job's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .buckets import SendLimits
from .clock import Clock
from .consent import ConsentStore
from .errors import StorageUnavailable
from .graph import (
    FrequencyLimited,
    GraphError,
    GraphPermissionError,
    OptInLimited,
    OutsideWindow,
    RecipientUnavailable,
    RegionRestricted,
    TokenInvalid,
    TokenStopped,
)
from .keys import Keys
from .policy import Reason, Route
from .send_jobs import Outcome, SendJob
from .settings import Settings
from .shopper_regions import ShopperRegions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reaction:
    """The job's outcome, or the reason to try the plan's next route (``refund``: give its limits back)."""

    outcome: Outcome | None = None
    next_route: str = ""
    refund: bool = False


class Refusals:
    """Turns a Graph refusal of one send into a :class:`Reaction`, learning from it on the way."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, clock: Clock, consent: ConsentStore,
                 limits: SendLimits) -> None:
        self._regions = ShopperRegions(redis, keys)
        self._keys = keys
        self._settings = settings
        self._clock = clock
        self._consent = consent
        self._limits = limits

    async def react(self, job: SendJob, route: Route, exc: GraphError, unconfirmed: bool = False) -> Reaction:
        """``unconfirmed``: an earlier call of the job may have reached Meta (its worker died, or its answer
        was lost, and nothing confirmed it since)."""
        psid, topic = job.psid or "", job.topic or self._settings.optin_topic
        code = f"{exc.code}/{exc.subcode}" if exc.subcode else str(exc.code)
        log.info("send job %s refused on %s: %s (code %s, fbtrace %s)", job.id, route.via, exc.reason, code,
                 exc.fbtrace_id)
        if unconfirmed and job.purpose == "private_reply" and isinstance(exc, GraphPermissionError):
            # One private reply per comment: Meta refusing the resend says the earlier call reached it (the
            # policy refuses a comment past its 7 days before any call, so that is not what this refusal is).
            log.info("send job %s: Meta refuses a second reply to its comment; the earlier call reached it", job.id)
            return Reaction(Outcome(job, "sent", via=route.via))
        if isinstance(exc, FrequencyLimited) and route.token:
            await self._learn(job, self._defer(route))
            return Reaction(next_route=Reason.FREQUENCY)
        if isinstance(exc, TokenStopped) and route.via.startswith("marketing"):
            await self._learn(job, self._consent.set_status(psid, topic, "stopped"))
            return Reaction(Outcome(job, "skipped", via=route.via, reason=Reason.TOKEN_STOPPED, code=code))
        if isinstance(exc, TokenInvalid) and route.via in ("marketing_legacy", "marketing_api", "otn"):
            if route.via != "otn":
                await self._learn(job, self._consent.forget_token(psid, topic))
            return Reaction(next_route=Reason.NO_TOKEN)
        if isinstance(exc, OutsideWindow) and route.via in ("psid", "instagram"):
            return Reaction(next_route=Reason.OUTSIDE_WINDOW, refund=True)
        if isinstance(exc, RegionRestricted):
            await self._learn(job, self._regions.record_refusal(psid, route.via))
            return Reaction(next_route=Reason.REGION)
        if isinstance(exc, RecipientUnavailable):
            await self._learn(job, self._consent.mark_unreachable(psid, code))
        if isinstance(exc, OptInLimited) and job.title:
            await self._learn(job, self._asked(psid, job.title))
        return Reaction(Outcome(job, "failed", via=route.via, reason=exc.reason, code=code))

    async def _defer(self, route: Route) -> None:
        await self._limits.defer_token(route.token or "", await self._clock.now_ms() + route.token_gap_ms)

    async def _asked(self, psid: str, title: str) -> None:
        await self._consent.mark_optin_asked(psid, title, await self._clock.now_ms())

    @staticmethod
    async def _learn(job: SendJob, lesson: Awaitable[object]) -> None:
        try:
            await lesson
        except (RedisError, OSError, StorageUnavailable) as err:
            log.warning("send job %s: could not record what the refusal tells (%s)", job.id, type(err).__name__)
