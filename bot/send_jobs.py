"""A send job and what becomes of it: the job, its idempotency record as stored, how it ended or waits.

A :class:`SendJob` is one outgoing message (queued by the dialogue, a fan-out, an admin call) and
its ``id`` is its idempotency key. Its :class:`SendRecord` moves ``queued -> sending -> sent |
skipped | failed`` (``TERMINAL``), or from ``sending`` to ``delayed`` and back to ``queued``. A
send worker ends a job with an :class:`Outcome` or puts it off with a :class:`Delay`; the outbox
(``bot.outbox``) queues jobs and writes both. A job goes in one of two lanes: ``campaigns`` for
notifications, ``replies`` for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from . import fast_json
from .channels import CHANNELS, INSTAGRAM, MESSENGER, channel_of
from .policy import PURPOSES, Purpose

TERMINAL = frozenset({"sent", "skipped", "failed"})
REPLIES, CAMPAIGNS = "replies", "campaigns"


@dataclass(frozen=True, slots=True)
class SendJob:
    """One message to send, and what the policy needs to judge it."""

    id: str
    purpose: Purpose
    message: dict[str, Any]
    psid: str | None = None
    comment_id: str | None = None
    comment_ms: int = 0
    topic: str | None = None
    title: str | None = None
    campaign: str = ""
    explicit: bool = False
    free_text: bool = False  # a transactional message in the shop's own words: only inside the window
    marketing_message: dict[str, Any] | None = None  # the body for the Marketing Message API, if different
    utility: dict[str, Any] | None = None  # a utility message: {"template", "language", "params", "text"} (rendered)
    after: str = ""  # a job to the same recipient that goes first (the text before a reply's card)
    extra: dict[str, Any] = field(default_factory=dict)
    channel: str = MESSENGER  # bot.channels; a job for an ``ig:`` shopper is on Instagram whatever it says
    live_media: str = ""  # a private reply to a comment on this Instagram live video: only while it is broadcast

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if channel_of(self.psid) == INSTAGRAM:
            object.__setattr__(self, "channel", INSTAGRAM)
        if "|" in self.id or "|" in self.campaign:
            raise ValueError("job ids and campaign names may not contain '|'")
        if self.purpose == "private_reply" and not self.comment_id:
            raise ValueError("a private reply needs comment_id")
        if self.purpose != "private_reply" and not self.psid:
            raise ValueError(f"a {self.purpose} needs psid")
        if self.purpose == "notification" and not self.topic:
            raise ValueError("a notification needs its topic")

    @property
    def lane(self) -> str:
        """``campaigns`` for a notification, else ``replies`` (read first). A reply's parts share a lane."""
        return CAMPAIGNS if self.purpose == "notification" else REPLIES

    def to_json(self) -> str:
        # A shallow dict: dataclasses.asdict would deep-copy the message bodies first (~7x slower).
        return fast_json.dumps({name: getattr(self, name) for name in _JOB_FIELDS})

    @classmethod
    def from_json(cls, raw: str | bytes) -> SendJob:
        return cls(**fast_json.loads(raw))


_JOB_FIELDS = tuple(f.name for f in fields(SendJob))

@dataclass(frozen=True, slots=True)
class SendRecord:
    """A job's idempotency record as stored."""

    state: str
    via: str = ""
    message_id: str = ""
    reason: str = ""
    code: str = ""
    owner: str = ""
    attempts: int = 0  # failed attempts (network, Meta-side errors, throttles) so far
    failed_since: int = 0  # ms of the first failed attempt (deployment clock), 0 = none
    delays: int = 0  # times the job went to the delayed ZSET (a write of a delay is applied once)
    after: str = ""  # the recipient's reply queued just before this one, which goes first
    sent_at: int = 0  # ms (deployment clock) the job was last marked sending: when its call may have left


@dataclass(slots=True)
class Outcome:
    """How a job ended, to be written by :meth:`bot.outbox.Outbox.finish`."""

    job: SendJob
    outcome: str  # sent, skipped or failed
    via: str = ""
    message_id: str = ""
    reason: str = ""
    code: str = ""
    attempts: int = 0  # failed attempts before it ended, if any (kept on the record)


@dataclass(slots=True)
class Delay:
    """A job to try again in ``delay_ms``, from its lane's delayed ZSET (``bot.send_retry``)."""

    job: SendJob
    delay_ms: int
    reason: str  # network, transient, throttled (its own failures), paused (the Page's), following
    attempts: int  # failed attempts including this one (absolute: a repeated write adds nothing)
    failed_since: int  # ms of the first failure, 0 = now, -1 = none (it waits for the Page or its predecessor)
    delays: int  # the record's ``delays`` when the job was loaded
    behind: str = ""  # a delayed job this one must stay behind (the part before it)


Result = Outcome | Delay | None  # None: only acknowledge the entry (its record is already final)
