"""A comment under a Page post or live video: the opt-in keyword gets one private reply.

Within ``COMMENT_OPTIN_SCOPE`` (``linked``: only under a live sale's posts, :data:`bot.ports.LINKED_POSTS`),
unless the comment claims a product of a live sale (:data:`bot.ports.CLAIM_COMMENTS`: the claims answer
it), and at most one keyword reply per shopper per post per day (:mod:`dialogue.comment_gate`). On an
Instagram live the job carries the live video, so the sender can refuse it once the live has ended.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.channels import INSTAGRAM, instagram_shopper
from bot.events import CommentEvent
from bot.outbox import SendJob
from bot.ports import CLAIM_COMMENTS, LINKED_POSTS

from .action_turns import job_base
from .tracker_store import new_state, record_user
from .understanding import OPT_IN

if TYPE_CHECKING:
    from .engine import Dialogue

log = logging.getLogger(__name__)


async def answer_comment(d: Dialogue, event: CommentEvent) -> None:
    own = (event.page_id, instagram_shopper(d.settings.instagram_account_id))  # the Page's own comments
    if event.verb != "add" or not event.message or event.from_id in own:
        return
    claims = d.services.find(CLAIM_COMMENTS)
    if claims is not None and await claims.is_claim(event.post_id, event.message):
        return  # "SOLD 12" under a live sale: the claims plugin answers it (its one private reply)
    spotted = d.meaning.spotter.spot(event.message)
    if spotted.intent != OPT_IN or OPT_IN not in d.action_of:
        return
    if d.settings.comment_optin_scope == "linked" and \
            not await d.services.get(LINKED_POSTS).is_linked(event.post_id):
        return
    # Not the shopper's tracker: comments are ordered per commenter, apart from their chat.
    state = new_state(event.from_id)
    record_user(state, text=event.message, intent=OPT_IN, confidence=spotted.confidence, at_ms=event.timestamp,
                metadata={"source": "comment", "comment_id": event.comment_id, "post_id": event.post_id},
                qualifying=False)
    replies = [r for r in await d.turns.run(state, d.action_of[OPT_IN], "comment") if r.purpose == "response"]
    if not replies:
        return
    if len(replies) > 1:
        log.warning("a comment allows one private reply; %d extra messages dropped", len(replies) - 1)
    job = SendJob(id=f"{job_base(event.dedupe_key)}:0", purpose="private_reply", message=replies[0].message,
                  comment_id=event.comment_id, comment_ms=event.timestamp, channel=event.channel,
                  live_media=event.post_id if event.live and event.channel == INSTAGRAM else "")
    if await d.comment_gate.admit(job, post_id=event.post_id, psid=event.from_id, now_ms=await d.clock.now_ms()):
        await d.outbox.enqueue(job)
