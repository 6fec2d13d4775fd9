"""What to do with a job another worker left ``sending``: the one decision about uncertain sends.

A worker marks a job ``sending`` just before its call and writes the outcome right after. A job
still ``sending`` when a different worker picks it up (its first worker died, or kept no memory
of it) may or may not have reached Meta. This module is that decision, kept in one function so it
can be replaced by a better one (waiting for the echo past the reclaim, a Graph look-up) without
touching the send loop.
"""

from __future__ import annotations

import logging

from .outbox import Outcome, SendJob, SendRecord

log = logging.getLogger(__name__)


async def resolve_reclaimed(job: SendJob, record: SendRecord, echo: str) -> Outcome | None:
    """The outcome of an unfinished send found on ``record``, or None to send it (again) now.

    ``echo`` is the message id of Meta's echo carrying the job id as metadata ('' if none came):
    proof the send happened. Without one the Send API request is taken as never having left and is
    sent again on its route, with the limits its first worker took; the Marketing Message API has no
    echo, so an unconfirmed send there is recorded failed (``uncertain``) rather than risk a duplicate.
    """
    if echo:
        log.info("send job %s: an earlier worker's send is confirmed by its echo", job.id)
        return Outcome(job, "sent", via=record.via, message_id=echo)
    if record.via == "marketing_api":
        log.warning("send job %s: unconfirmed Marketing Message API send; not resent", job.id)
        return Outcome(job, "failed", via=record.via, reason="uncertain")
    return None
