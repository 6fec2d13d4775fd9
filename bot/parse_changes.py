"""``changes[]`` items to typed events (messenger-platform.md §2.9, §2.10, §3.3, §9).

A Page's changes: ``feed`` (a comment, or another feed change), ``live_videos`` (a live video's
status), ``marketing_message_echoes`` and ``message_template_status_update``. An Instagram account's
(issue 15): ``comments`` and ``live_comments``, whose value is ``{id, text, from: {id, username},
media: {id, media_product_type}, parent_id?}`` (Meta's Instagram webhooks reference; the
``live_comments`` value taken to be the same shape [U]); the commenter is keyed ``ig:<IGSID>``.
"""

from __future__ import annotations

from typing import Any

from .channels import INSTAGRAM, shopper_key
from .errors import BadEvent
from .events import CommentEvent, Event, FeedEvent, LiveVideoEvent, MarketingEchoEvent, RawItem, TemplateStatusEvent
from .json_input import brief
from .parse_fields import as_ms, id_of, obj, opt_str, required_str

# The review states of a utility message template Meta may report (``message_template_status_update``) [U].
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED",
                     "PENDING_DELETION", "DELETED", "IN_APPEAL", "LIMIT_EXCEEDED")

INSTAGRAM_COMMENT_FIELDS = ("comments", "live_comments")


def field_and_value(change: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A ``changes[]`` item's ``field`` and its ``value`` object (BadEvent when there is none)."""
    value = change.get("value")
    if not isinstance(value, dict):
        raise BadEvent("missing_field", "changes[].value")
    return change.get("field"), value


def parse_change(raw: RawItem) -> Event:
    """A Page's ``changes[]`` item."""
    change = raw.item
    field_name, value = field_and_value(change)
    if field_name == "live_videos":
        return LiveVideoEvent(page_id=raw.page_id, timestamp=raw.entry_time, raw=change,
                              video_id=required_str(value, "id"), status=required_str(value, "status").lower())
    if field_name == "marketing_message_echoes":
        return MarketingEchoEvent(page_id=raw.page_id, timestamp=as_ms(value.get("timestamp")) or raw.entry_time,
                                  raw=change, tracking_id=required_str(value, "marketing_message_tracking_id"),
                                  token=required_str(value, "messenger_subscription_token"),
                                  mid=opt_str(value.get("message_id")) or "")
    if field_name == "message_template_status_update":
        return _template_status(raw, value)
    if field_name != "feed":
        raise BadEvent("unknown_kind", f"change field {brief(field_name)}")
    item_kind, verb = opt_str(value.get("item")) or "", opt_str(value.get("verb")) or ""
    ts = as_ms(value.get("created_time")) or raw.entry_time
    if item_kind != "comment":
        return FeedEvent(page_id=raw.page_id, timestamp=ts, raw=change, item=item_kind, verb=verb,
                         post_id=opt_str(value.get("post_id")))
    sender = obj(value.get("from"))
    from_id = id_of(sender.get("id")) or id_of(value.get("from_id"))
    if not from_id:
        raise BadEvent("missing_field", "feed comment from.id")
    return CommentEvent(page_id=raw.page_id, timestamp=ts, raw=change, verb=verb or "add",
                        comment_id=required_str(value, "comment_id"), post_id=required_str(value, "post_id"),
                        parent_id=opt_str(value.get("parent_id")), from_id=from_id,
                        from_name=opt_str(sender.get("name")) or opt_str(value.get("from_name")),
                        message=opt_str(value.get("message")))


def parse_instagram_change(raw: RawItem) -> Event:
    """A comment on an Instagram post, reel or live video (fields ``comments``, ``live_comments``; §9)."""
    change = raw.item
    field_name, value = field_and_value(change)
    if field_name not in INSTAGRAM_COMMENT_FIELDS:
        raise BadEvent("unknown_kind", f"instagram change field {brief(field_name)}")
    sender = obj(value.get("from"))
    from_id = id_of(sender.get("id"))
    if not from_id:
        raise BadEvent("missing_field", "instagram comment from.id")
    media = obj(value.get("media"))
    media_id = id_of(media.get("id"))
    if not media_id:
        raise BadEvent("missing_field", "instagram comment media.id")
    return CommentEvent(page_id=raw.page_id, timestamp=as_ms(value.get("timestamp")) or raw.entry_time, raw=change,
                        channel=INSTAGRAM, verb="add", comment_id=required_str(value, "id"), post_id=media_id,
                        parent_id=opt_str(value.get("parent_id")), from_id=shopper_key(INSTAGRAM, from_id),
                        from_name=opt_str(sender.get("username")), message=opt_str(value.get("text")),
                        live=field_name == "live_comments" or media.get("media_product_type") == "LIVE")


def _template_status(raw: RawItem, value: dict[str, Any]) -> TemplateStatusEvent:
    """A utility template's review (§3.3, §9; shape [U], see :class:`TemplateStatusEvent`): its id, name and a
    status Meta names; anything else is ``missing_field`` or ``unknown_kind``, never an event."""
    status = required_str(value, "event").upper()
    if status not in TEMPLATE_STATUSES:
        raise BadEvent("unknown_kind", f"template status {brief(status)}")
    template_id = id_of(value.get("message_template_id"))
    if not template_id:
        raise BadEvent("missing_field", "message_template_id")
    return TemplateStatusEvent(page_id=raw.page_id, timestamp=raw.entry_time, raw=raw.item, template_id=template_id,
                               name=required_str(value, "message_template_name"),
                               language=opt_str(value.get("message_template_language")) or "",
                               status=status, reason=opt_str(value.get("reason")) or "")
