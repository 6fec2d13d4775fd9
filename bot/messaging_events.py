"""Events of ``entry[].messaging[]`` (and ``standby[]``): each has a shopper (messenger-platform.md §2.1–§2.8,
§2.11). An Instagram shopper's ``psid`` is their IGSID behind ``ig:`` (:mod:`bot.channels`), so their
keys never meet a Messenger shopper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .event_base import Event, content_hash, token_digest


@dataclass(frozen=True, slots=True)
class MessagingEvent(Event):
    """An event of ``entry[].messaging[]``: it has a shopper (a PSID, or ``ig:`` and an IGSID)."""

    psid: str = ""

    @property
    def ordering_key(self) -> str:
        return "u:" + self.psid


STORY_MENTION = "story_mention"  # the attachment type of an Instagram story mention


@dataclass(frozen=True, slots=True)
class Attachment:
    type: str  # image, video, audio, file, ..., or STORY_MENTION (its ``url``: the story's CDN URL)
    url: str | None = None
    sticker_id: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class StoryRef:
    """The Instagram story a message answers (``message.reply_to.story``): its id and CDN URL.

    The URL stops working when the story expires (24 hours) or is deleted; Meta allows keeping the
    URL, never the media (Instagram's story-mention page [C])."""

    id: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEvent(MessagingEvent):
    """A shopper's message: text, attachments and/or a tapped quick reply.

    On Instagram a message may answer the account's story (``story_reply``; its text is a DM like any
    other) or tell that the shopper mentioned the account in their own story (:attr:`story_mention`, an
    attachment of type ``story_mention``; issue 15)."""

    kind: ClassVar[str] = "message"
    mid: str = ""
    text: str | None = None
    quick_reply_payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to_mid: str | None = None
    story_reply: StoryRef | None = None

    @property
    def dedupe_key(self) -> str:
        return "mid:" + self.mid

    @property
    def story_mention(self) -> Attachment | None:
        """The story-mention attachment, if the shopper mentioned the account in their story."""
        return next((a for a in self.attachments if a.type == STORY_MENTION), None)


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
