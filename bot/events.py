"""Typed events parsed from webhook items (messenger-platform.md §2).

A webhook body holds entries; each entry holds ``messaging``, ``changes`` or
``standby`` items. :func:`split_body` turns a body into :class:`RawItem` records
(what gets queued per shopper); :func:`parse_item` turns one record into a typed
event. Every event knows its ``ordering_key`` (whose queue it joins: the
shopper's PSID, a commenter, a live video) and its ``dedupe_key`` (what makes a
redelivery the same event). Every event has its ``channel`` (``messenger`` or ``instagram``,
:mod:`bot.channels`); an Instagram shopper's ``psid`` (and a commenter's ``from_id``) is their
IGSID behind ``ig:``, so their keys never meet a Messenger shopper's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .channels import CHANNELS, MESSENGER
from .errors import BadEvent
from .json_input import clean, clean_text

PAGE_INBOX_APP_ID = "263902037430900"
SOURCES = ("messaging", "changes", "standby")


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item of a webhook body with the context needed to parse it later."""

    page_id: str
    source: str  # "messaging", "standby" or "changes"
    entry_time: int
    item: dict[str, Any]
    channel: str = MESSENGER  # "instagram" for an entry of an ``object: instagram`` body (page_id: its Page's)

    def to_json(self) -> str:
        """The queued form; strict JSON (a non-finite number raises ValueError: :func:`bot.json_input.clean` first)."""
        queued: dict[str, Any] = {"p": self.page_id, "s": self.source, "t": self.entry_time, "i": self.item}
        if self.channel != MESSENGER:
            queued["c"] = self.channel
        return json.dumps(queued, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> RawItem:
        """Read a queued item back; anything that is not one raises :class:`BadEvent` ``malformed_item``."""
        try:
            d = json.loads(data)
            page_id, source, entry_time, item = d["p"], d["s"], d["t"], d["i"]
            channel = d.get("c", MESSENGER)
            if not (isinstance(page_id, str) and source in SOURCES and isinstance(entry_time, int)
                    and not isinstance(entry_time, bool) and isinstance(item, dict) and channel in CHANNELS):
                raise ValueError("fields of the wrong type")
            return cls(page_id=clean_text(page_id), source=source, entry_time=entry_time, item=clean(item),
                       channel=channel)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise BadEvent("malformed_item", f"queued item is not a RawItem ({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event. ``timestamp`` is epoch milliseconds."""

    kind: ClassVar[str] = "event"
    page_id: str
    timestamp: int
    raw: dict[str, Any] = field(repr=False, compare=False)
    channel: str = field(default=MESSENGER, kw_only=True)  # bot.channels: "messenger" or "instagram"

    @property
    def ordering_key(self) -> str:
        raise NotImplementedError

    @property
    def dedupe_key(self) -> str:
        return content_hash(self.raw)


def token_digest(token: str) -> str:
    """What a dedupe key holds of a token: never the token itself, since the key becomes job ids,
    Send API ``metadata`` (echoed back by Meta), Redis key names and log lines."""
    return hashlib.blake2b(token.encode(), digest_size=9).hexdigest()


def content_hash(raw: dict[str, Any]) -> str:
    """Dedupe key for events without a natural id: a hash of their canonical JSON."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h:" + hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class MessagingEvent(Event):
    """An event of ``entry[].messaging[]``: it has a shopper (a PSID, or ``ig:`` and an IGSID)."""

    psid: str = ""

    @property
    def ordering_key(self) -> str:
        return "u:" + self.psid


@dataclass(frozen=True, slots=True)
class Attachment:
    type: str
    url: str | None = None
    sticker_id: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEvent(MessagingEvent):
    """A shopper's message: text, attachments and/or a tapped quick reply."""

    kind: ClassVar[str] = "message"
    mid: str = ""
    text: str | None = None
    quick_reply_payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to_mid: str | None = None

    @property
    def dedupe_key(self) -> str:
        return "mid:" + self.mid


@dataclass(frozen=True, slots=True)
class EchoEvent(MessagingEvent):
    """A copy of a message the Page sent (by us, another app or a human in the Inbox)."""

    kind: ClassVar[str] = "echo"
    mid: str = ""
    app_id: str | None = None
    text: str | None = None
    metadata: str | None = None

    @property
    def dedupe_key(self) -> str:
        return "echo:" + self.mid


@dataclass(frozen=True, slots=True)
class Referral:
    ref: str | None
    source: str | None
    type: str | None
    ad_id: str | None = None


@dataclass(frozen=True, slots=True)
class PostbackEvent(MessagingEvent):
    """A button tap (Get Started, persistent menu, template buttons)."""

    kind: ClassVar[str] = "postback"
    mid: str | None = None
    title: str | None = None
    payload: str | None = None
    referral: Referral | None = None

    @property
    def dedupe_key(self) -> str:
        return "pb:" + self.mid if self.mid else content_hash(self.raw)


@dataclass(frozen=True, slots=True)
class ReferralEvent(MessagingEvent):
    """A shopper with an existing thread arrived from an m.me link or an ad."""

    kind: ClassVar[str] = "referral"
    referral: Referral | None = None


@dataclass(frozen=True, slots=True)
class MarketingOptinEvent(MessagingEvent):
    """``messaging_optins`` of type ``notification_messages``: opt-in, stop or resume."""

    kind: ClassVar[str] = "marketing_optin"
    token: str = ""
    title: str | None = None
    payload: str | None = None
    frequency: str | None = None
    timezone: str | None = None
    token_expiry: int | None = None
    user_token_status: str | None = None
    status: str | None = None  # None (new opt-in), "STOP_NOTIFICATIONS" or "RESUME_NOTIFICATIONS"

    @property
    def dedupe_key(self) -> str:
        return f"optin:{self.psid}:{token_digest(self.token)}:{self.timestamp}:{self.status or 'new'}"


@dataclass(frozen=True, slots=True)
class OtnOptinEvent(MessagingEvent):
    """``messaging_optins`` of type ``one_time_notif_req``: one single-use token."""

    kind: ClassVar[str] = "otn_optin"
    token: str = ""
    payload: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"otn:{self.psid}:{token_digest(self.token)}:{self.timestamp}"


@dataclass(frozen=True, slots=True)
class DeliveryEvent(MessagingEvent):
    """Everything the Page sent to this shopper up to ``watermark`` is delivered."""

    kind: ClassVar[str] = "delivery"
    watermark: int = 0
    mids: tuple[str, ...] = ()

    @property
    def dedupe_key(self) -> str:
        return f"dlv:{self.psid}:{self.watermark}"


@dataclass(frozen=True, slots=True)
class ReadEvent(MessagingEvent):
    """Everything the Page sent to this shopper up to ``watermark`` is read."""

    kind: ClassVar[str] = "read"
    watermark: int = 0

    @property
    def dedupe_key(self) -> str:
        return f"read:{self.psid}:{self.watermark}"


@dataclass(frozen=True, slots=True)
class HandoverEvent(MessagingEvent):
    """Thread control changed (pass, take, request) between apps."""

    kind: ClassVar[str] = "handover"
    action: str = ""
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class StandbyEvent(MessagingEvent):
    """An event in a thread another app (or a human) controls: never answered."""

    kind: ClassVar[str] = "standby"
    inner: MessagingEvent | None = None

    @property
    def dedupe_key(self) -> str:
        return "sb:" + (self.inner.dedupe_key if self.inner else content_hash(self.raw))


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


KINDS: tuple[type[Event], ...] = (
    MessageEvent, EchoEvent, PostbackEvent, ReferralEvent, MarketingOptinEvent, OtnOptinEvent,
    DeliveryEvent, ReadEvent, HandoverEvent, StandbyEvent, CommentEvent, FeedEvent, LiveVideoEvent,
    MarketingEchoEvent, TemplateStatusEvent,
)
EVENT_KINDS: tuple[str, ...] = tuple(k.kind for k in KINDS)
