"""One keyword private reply per shopper per post per day (issue 14: "LIVE" five times under one
post sent five identical DMs).

Meta allows one private reply per comment; a shopper who comments the keyword again under the
same post the same day (UTC) already has the answer in their inbox. The first comment's reply goes;
each later one is recorded ``skipped/already_replied`` in the day's numbers, with no call to Meta.
A redelivered comment (the same job) passes the gate again, so its reply is still queued once.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from bot.keys import Keys
from bot.outbox import Outbox, Outcome, SendJob
from bot.policy import Reason
from bot.replies import text

log = logging.getLogger(__name__)

GATE_TTL_SECONDS = 2 * 24 * 3600  # the day, plus slack for a clock ahead of Redis'


class CommentReplyGate:
    """Lets the first keyword reply per (shopper, post, day) through."""

    def __init__(self, redis: Redis, keys: Keys, outbox: Outbox) -> None:
        self._redis = redis
        self._keys = keys
        self._outbox = outbox

    def _key(self, post_id: str, psid: str, now_ms: int) -> str:
        return f"{self._keys.prefix}dlg:comment-reply:{self._outbox.day(now_ms)}:{post_id}:{psid}"

    async def admit(self, job: SendJob, *, post_id: str, psid: str, now_ms: int) -> bool:
        """True if ``job`` is the shopper's reply under this post today; else it is recorded skipped."""
        key = self._key(post_id, psid, now_ms)
        if await self._redis.set(key, job.id, nx=True, ex=GATE_TTL_SECONDS):
            return True
        holder = await self._redis.get(key)
        if holder is not None and text(holder) == job.id:
            return True
        log.info("comment %s: %s already got a private reply under post %s today; skipped",
                 job.comment_id, psid, post_id)
        await self._outbox.finish([(None, Outcome(job, "skipped", reason=Reason.ALREADY_REPLIED))], now_ms)
        return False
