"""Is an Instagram live video still broadcast? Asked of Meta before a private reply to one of its comments.

Meta allows a private reply to a comment on an Instagram live video only while the broadcast runs
(messenger-platform.md §9, Meta's Instagram private-replies page [C]). Meta sends no webhook when an
Instagram live ends: none is listed among the Instagram webhook fields, and ``live_comments``
notifications simply "stop when the broadcast ends" (Meta's Instagram webhooks setup page [C]); the
Facebook ``live_videos`` status change has no Instagram counterpart [U: not found]. What Meta does
document is ``GET /{ig-user-id}/live_media``, which returns "only live video IG Media being broadcast
at the time of the request" [C]. So before a private reply to a comment that came under a live video
(``SendJob.live_media``, set from the comment's ``live_comments`` field or ``LIVE`` media product
type), the send worker asks which of the account's media are live now; a live video not among them
has ended, and the reply is refused ``live_ended`` before any send (:mod:`bot.instagram_policy`).

The answer is kept :data:`LIVE_MEDIA_TTL_MS` in Redis for every worker of the Page, so a rush of
comments during a live sale costs one read every few seconds, not one per reply. A broadcast that
ends within those seconds may still see a reply tried: Meta refuses it and the refusal is recorded as
any other. A read that fails (network, throttling, a refusal) tells nothing: the reply is tried, as
it was before this check, and Meta's answer recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from redis.asyncio import Redis

from .channels import INSTAGRAM
from .graph import GraphClient, GraphError
from .keys import Keys
from .outbox import SendJob
from .policy import Facts

log = logging.getLogger(__name__)

LIVE_MEDIA_TTL_MS = 3000


def asks_live(job: SendJob) -> bool:
    """A private reply to a comment under an Instagram live video: it may go only while the video is live."""
    return bool(job.live_media) and job.channel == INSTAGRAM and job.purpose == "private_reply"


class InstagramLive:
    """The Page's Instagram account's live videos being broadcast, read from Meta and kept a few seconds."""

    def __init__(self, redis: Redis, keys: Keys, graph: GraphClient, account_id: str) -> None:
        self._redis = redis
        self._key = keys.instagram_live_media
        self._graph = graph
        self._account = account_id

    async def live_now(self) -> frozenset[str] | None:
        """The media ids broadcast now, or None when it cannot be known (no account, Meta's read failed)."""
        cached = await self._redis.get(self._key)
        if cached is not None:
            return frozenset(json.loads(cached))
        if not self._account:
            return None
        try:
            found = await self._graph.instagram_live_media(self._account)
        except GraphError as exc:
            log.info("the Instagram account's live videos could not be read (%s); private replies on them are "
                     "tried as they are", exc.reason)
            return None
        await self._redis.set(self._key, json.dumps(sorted(found)), px=LIVE_MEDIA_TTL_MS)
        return frozenset(found)

    async def complete(self, jobs: Sequence[SendJob], facts: list[Facts]) -> list[Facts]:
        """Each job's facts, with ``live_ended`` set where its live video is known no longer broadcast (one read,
        only when the batch has such a reply)."""
        if not any(asks_live(job) for job in jobs):
            return facts
        live = await self.live_now()
        if live is None:
            return facts
        return [replace(known, live_ended=True) if asks_live(job) and job.live_media not in live else known
                for job, known in zip(jobs, facts)]
