"""Events of ``entry[].changes[]``: comments, other feed changes, live videos, marketing echoes and template
reviews (messenger-platform.md §2.9, §2.10, §3.3, §3.9, §9). A commenter on Instagram is ``ig:<IGSID>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .event_base import Event


@dataclass(frozen=True, slots=True)
class CommentEvent(Event):
    """A comment on a Page post or live video (``feed`` change, item ``comment``), or on an Instagram post,
    reel or live video (``comments``/``live_comments``: ``from_id`` is ``ig:<IGSID>``, ``post_id`` the media's)."""

    kind: ClassVar[str] = "comment"
    verb: str = "add"
    comment_id: str = ""
    post_id: str = ""
    parent_id: str | None = None
    from_id: str = ""
    from_name: str | None = None
    message: str | None = None
    live: bool = False  # known to be under a live video (an Instagram ``live_comments`` change)

    @property
    def ordering_key(self) -> str:
        return "c:" + self.from_id

    @property
    def dedupe_key(self) -> str:
        return f"cmt:{self.comment_id}:{self.verb}"

    @property
    def is_reply(self) -> bool:
        return bool(self.parent_id) and self.parent_id != self.post_id


@dataclass(frozen=True, slots=True)
class FeedEvent(Event):
    """Any other ``feed`` change (reactions, posts, shares): counted, rarely handled."""

    kind: ClassVar[str] = "feed"
    item: str = ""
    verb: str = ""
    post_id: str | None = None

    @property
    def ordering_key(self) -> str:
        return "f:" + (self.post_id or "page")


@dataclass(frozen=True, slots=True)
class LiveVideoEvent(Event):
    """A live video's status changed (``live``, ``live_stopped``, ``vod``)."""

    kind: ClassVar[str] = "live_video"
    video_id: str = ""
    status: str = ""

    @property
    def ordering_key(self) -> str:
        return "v:" + self.video_id

    @property
    def dedupe_key(self) -> str:
        return f"live:{self.video_id}:{self.status}"


@dataclass(frozen=True, slots=True)
class MarketingEchoEvent(Event):
    """A Marketing Message API send reached the subscriber (``marketing_message_echoes``, a Page field).

    Meta documents the field with ``marketing_message_tracking_id``, ``messenger_subscription_token``
    and ``message_id`` (messenger-platform.md §3.9); where it sits in the body is not documented, and
    we read it as a ``changes[]`` item of field ``marketing_message_echoes`` [U]. It is how a send
    whose answer was lost is known to have happened (bot/reclaim.py).
    """

    kind: ClassVar[str] = "marketing_echo"
    tracking_id: str = ""
    token: str = field(default="", repr=False)
    mid: str = ""

    @property
    def ordering_key(self) -> str:
        return "mm:" + self.tracking_id

    @property
    def dedupe_key(self) -> str:
        return "mmecho:" + self.tracking_id


@dataclass(frozen=True, slots=True)
class TemplateStatusEvent(Event):
    """Meta reviewed one of the Page's utility message templates (``message_template_status_update``,
    messenger-platform.md §3.3, §9): its id, name, language and new status (``APPROVED``, ``REJECTED``,
    ``PAUSED``, ``DISABLED``, ...). Read as a ``changes[]`` item of that field, its ``value`` holding
    ``event``, ``message_template_id``, ``message_template_name``, ``message_template_language`` and
    ``reason``, after Meta's WhatsApp template webhook [U]."""

    kind: ClassVar[str] = "template_status"
    template_id: str = ""
    name: str = ""
    language: str = ""
    status: str = ""
    reason: str = ""

    @property
    def ordering_key(self) -> str:
        return "tpl:" + self.name
