"""``messaging[]`` (and ``standby[]``) items to typed events (messenger-platform.md §2.1–§2.8, §2.11).

A Page's and an Instagram account's items have the same shapes (issue 15, §9): messages (text, quick
replies, attachments), echoes (``is_echo``), postbacks, referrals, opt-ins, delivery and read
receipts (Instagram's ``messaging_seen`` is a ``read`` with a ``mid`` rather than a ``watermark``
[U]: the item's timestamp serves as the watermark), handover. The shopper is keyed by channel
(:func:`bot.channels.shopper_key`).

Instagram stories (issue 15): a reply to the account's story is a message whose
``message.reply_to.story`` is ``{"id", "url"}`` (the shape public integrations read; Meta's webhook
example for it was not read in full [U]), read as :attr:`MessageEvent.story_reply`; a mention of the
account in a shopper's story is a message with an attachment ``{"type": "story_mention", "payload":
{"url": <CDN URL>}}`` (Meta's story-mention page [C]). A ``reply_to.story`` without an id, or a
``story_mention`` attachment without a URL, is no message we can answer: the item is rejected
``missing_field`` (the rest of its body is kept).
"""

from __future__ import annotations

from typing import Any

from .channels import INSTAGRAM, MESSENGER, shopper_key
from .errors import BadEvent
from .events import (
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
    StoryRef,
)
from .json_input import brief
from .parse_fields import as_list, as_ms, id_of, obj, object_id, opt_str, required_dict, required_str, whole

HANDOVER_KEYS = ("pass_thread_control", "take_thread_control", "request_thread_control", "app_roles")


def parse_messaging(page_id: str, item: dict[str, Any], channel: str = MESSENGER) -> MessagingEvent:
    """One ``messaging[]`` item; BadEvent when it is of no kind we know or lacks what its kind needs."""
    sender = shopper_key(channel, object_id(item, "sender"))
    recipient = shopper_key(channel, object_id(item, "recipient"))
    ts = as_ms(item.get("timestamp"))
    if not ts:
        raise BadEvent("missing_field", "timestamp")
    common: dict[str, Any] = dict(page_id=page_id, timestamp=ts, raw=item, channel=channel)
    if "message" in item:
        msg = required_dict(item, "message")
        if msg.get("is_echo") is True:
            return EchoEvent(**common, psid=recipient, mid=required_str(msg, "mid"), app_id=id_of(msg.get("app_id")),
                             text=opt_str(msg.get("text")), metadata=opt_str(msg.get("metadata")))
        quick = msg.get("quick_reply")
        reply_to = msg.get("reply_to")
        return MessageEvent(
            **common, psid=sender, mid=required_str(msg, "mid"), text=opt_str(msg.get("text")),
            quick_reply_payload=opt_str(quick.get("payload")) if isinstance(quick, dict) else None,
            attachments=tuple(attachment(a) for a in as_list(msg.get("attachments")) if isinstance(a, dict)),
            reply_to_mid=opt_str(reply_to.get("mid")) if isinstance(reply_to, dict) else None,
            story_reply=story_reply(reply_to),
        )
    if "postback" in item:
        pb = required_dict(item, "postback")
        return PostbackEvent(**common, psid=sender, mid=opt_str(pb.get("mid")), title=opt_str(pb.get("title")),
                             payload=opt_str(pb.get("payload")), referral=referral(pb.get("referral")))
    if "referral" in item:
        return ReferralEvent(**common, psid=sender, referral=referral(item.get("referral")))
    if "optin" in item:
        return _parse_optin(common, sender, required_dict(item, "optin"))
    if "delivery" in item:
        d = required_dict(item, "delivery")
        return DeliveryEvent(**common, psid=sender, watermark=as_ms(d.get("watermark")),
                             mids=tuple(m for m in as_list(d.get("mids")) if isinstance(m, str)))
    if "read" in item:
        watermark = as_ms(required_dict(item, "read").get("watermark"))
        if channel == INSTAGRAM and not watermark:  # messaging_seen names the mid seen, not a watermark [U]
            watermark = ts
        return ReadEvent(**common, psid=sender, watermark=watermark)
    for key in HANDOVER_KEYS:
        if key in item:
            metadata = opt_str(obj(item[key]).get("metadata"))
            return HandoverEvent(**common, psid=sender, action=key, metadata=metadata)
    raise BadEvent("unknown_kind", "messaging item with keys " + ",".join(k[:24] for k in sorted(item)[:8]))


def _parse_optin(common: dict[str, Any], psid: str, optin: dict[str, Any]) -> MessagingEvent:
    kind = optin.get("type")
    if kind == "one_time_notif_req" or "one_time_notif_token" in optin:
        return OtnOptinEvent(**common, psid=psid, token=required_str(optin, "one_time_notif_token"),
                             payload=opt_str(optin.get("payload")))
    if kind == "notification_messages" or "notification_messages_token" in optin:
        status = optin.get("notification_messages_status")
        if isinstance(status, str) and status.strip():
            status = status.strip().upper().replace(" ", "_")
        else:
            status = None
        expiry = optin.get("token_expiry_timestamp")
        return MarketingOptinEvent(
            **common, psid=psid, token=required_str(optin, "notification_messages_token"),
            title=opt_str(optin.get("title")), payload=opt_str(optin.get("payload")),
            frequency=opt_str(optin.get("notification_messages_frequency")),
            timezone=opt_str(optin.get("notification_messages_timezone")),
            token_expiry=whole(expiry), user_token_status=opt_str(optin.get("user_token_status")), status=status,
        )
    raise BadEvent("unknown_kind", f"optin of type {brief(kind)}")


def referral(value: Any) -> Referral | None:
    if not isinstance(value, dict):
        return None
    return Referral(ref=opt_str(value.get("ref")), source=opt_str(value.get("source")),
                    type=opt_str(value.get("type")), ad_id=opt_str(value.get("ad_id")))


def attachment(value: dict[str, Any]) -> Attachment:
    payload = obj(value.get("payload"))
    sticker = whole(payload.get("sticker_id")) if isinstance(payload.get("sticker_id"), int) else None
    kind = opt_str(value.get("type")) or "unknown"
    url = opt_str(payload.get("url"))
    if kind == STORY_MENTION and not url:
        raise BadEvent("missing_field", "story_mention attachment payload.url")
    return Attachment(type=kind, url=url, sticker_id=sticker,
                      title=opt_str(value.get("title")) or opt_str(payload.get("title")))


def story_reply(reply_to: Any) -> StoryRef | None:
    """``message.reply_to.story`` as a :class:`StoryRef`; None when the message answers no story."""
    if not isinstance(reply_to, dict) or "story" not in reply_to:
        return None
    story = reply_to["story"]
    story_id = id_of(story.get("id")) if isinstance(story, dict) else None
    if story_id is None:
        raise BadEvent("missing_field", "message.reply_to.story.id")
    assert isinstance(story, dict)
    return StoryRef(id=story_id, url=opt_str(story.get("url")))
