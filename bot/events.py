"""Typed events parsed from webhook items (messenger-platform.md §2): one import for all of them.

A webhook body holds entries; each entry holds ``messaging``, ``changes`` or
``standby`` items. :func:`split_body` turns a body into :class:`RawItem` records
(what gets queued per shopper); :func:`parse_item` turns one record into a typed
event. Every event knows its ``ordering_key`` (whose queue it joins: the
shopper's PSID, a commenter, a live video) and its ``dedupe_key`` (what makes a
redelivery the same event). Every event has its ``channel`` (``messenger`` or ``instagram``,
:mod:`bot.channels`); an Instagram shopper's ``psid`` (and a commenter's ``from_id``) is their
IGSID behind ``ig:``, so their keys never meet a Messenger shopper's.

The classes live in :mod:`bot.event_base` (the base and the queued form), :mod:`bot.messaging_events`
and :mod:`bot.change_events`; this module names them all and lists their kinds.
"""

from __future__ import annotations

from .change_events import CommentEvent, FeedEvent, LiveVideoEvent, MarketingEchoEvent, TemplateStatusEvent
from .event_base import PAGE_INBOX_APP_ID, SOURCES, Event, RawItem, content_hash, token_digest
from .messaging_events import (
    STORY_MENTION,
    Attachment,
    DeliveryEvent,
    EchoEvent,
    HandoverEvent,
    MarketingOptinEvent,
    MessageEvent,
    MessagingEvent,
    OtnOptinEvent,
    PostbackEvent,
    ReadEvent,
    Referral,
    ReferralEvent,
    StandbyEvent,
    StoryRef,
)

__all__ = [
    "EVENT_KINDS", "KINDS", "PAGE_INBOX_APP_ID", "SOURCES", "STORY_MENTION", "Attachment", "CommentEvent",
    "DeliveryEvent", "EchoEvent", "Event", "FeedEvent", "HandoverEvent", "LiveVideoEvent", "MarketingEchoEvent",
    "MarketingOptinEvent", "MessageEvent", "MessagingEvent", "OtnOptinEvent", "PostbackEvent", "RawItem",
    "ReadEvent", "Referral", "ReferralEvent", "StandbyEvent", "StoryRef", "TemplateStatusEvent", "content_hash",
    "token_digest",
]

KINDS: tuple[type[Event], ...] = (
    MessageEvent, EchoEvent, PostbackEvent, ReferralEvent, MarketingOptinEvent, OtnOptinEvent,
    DeliveryEvent, ReadEvent, HandoverEvent, StandbyEvent, CommentEvent, FeedEvent, LiveVideoEvent,
    MarketingEchoEvent, TemplateStatusEvent,
)
EVENT_KINDS: tuple[str, ...] = tuple(k.kind for k in KINDS)
