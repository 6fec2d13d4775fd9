"""Payload validation of the Send API and the Marketing Message API (messenger-platform.md §3).

Pure functions: each returns a plan of what to do, or the :class:`GraphRefusal`
Meta would answer. Rules that need stored state (window, tokens, limits) are
decided afterwards in one Lua script (``send.lua``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MESSAGE_AND_ACTION, NO_MATCHING_USER, UNKNOWN_OBJECT, GraphRefusal, refusal
from .templates import OPTIN_TEMPLATES, PAYLOAD_MAX, bad, check_attachment

TEXT_MAX = 2000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20  # Meta cuts longer titles (§3.4), it does not refuse them
DEFAULT_OPTIN_TITLE = "Updates and promotions"

RECIPIENT_KINDS = {
    "id": "psid", "comment_id": "comment", "post_id": "comment",
    "notification_messages_token": "nmt", "one_time_notif_token": "otn",
    "user_ref": "user_ref", "phone_number": "phone_number",
}
VIA = {"psid": "psid", "comment": "comment", "nmt": "notification_messages_token",
       "otn": "one_time_notif_token"}
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
NOTIFICATION_TYPES = ("REGULAR", "SILENT_PUSH", "NO_PUSH")


@dataclass(frozen=True, slots=True)
class OptinRequest:
    """An opt-in card (``notification_messages`` or ``one_time_notif_req``) being sent."""

    kind: str
    title: str
    payload: str
    timezone: str | None


@dataclass(frozen=True, slots=True)
class SendPlan:
    """A valid Send API call: who, how, and which stored rule applies (window, human, none)."""

    kind: str  # psid | comment | nmt | otn
    address: str
    message: dict[str, Any] | None  # None for a sender action
    rule: str  # window (24 h) | human (7 days) | none
    messaging_type: str | None
    tag: str | None
    optin: OptinRequest | None
    channel: str = "messenger"  # "instagram": through the Instagram account's endpoint (bot.sandbox.instagram_send)

    @property
    def via(self) -> str:
        if self.channel == "instagram":
            return "instagram_comment" if self.kind == "comment" else "instagram"
        return VIA[self.kind]


@dataclass(frozen=True, slots=True)
class MarketingPlan:
    """A valid Marketing Message API call."""

    token: str
    message: dict[str, Any]
    gap_ms: int


def plan_send(body: Any) -> SendPlan | GraphRefusal:
    """Check a ``POST /me/messages`` body (§3.2–§3.8)."""
    if not isinstance(body, dict):
        return bad("The request body must be a JSON object")
    recipient = body.get("recipient")
    fields = [k for k in RECIPIENT_KINDS if isinstance(recipient, dict) and recipient.get(k)]
    if len(fields) != 1 or not isinstance(recipient, dict) or len(recipient) != 1:
        return bad("param recipient must have exactly one of " + ", ".join(RECIPIENT_KINDS))
    kind, address = RECIPIENT_KINDS[fields[0]], str(recipient[fields[0]])
    has_message, action = "message" in body, body.get("sender_action")
    if has_message and action is not None:
        return MESSAGE_AND_ACTION
    if not has_message and action is None:
        return bad("Either message or sender_action must be provided")
    if kind in ("user_ref", "phone_number"):
        return NO_MATCHING_USER  # the sandbox has no plugin or phone-matched people
    messaging_type, tag = body.get("messaging_type"), body.get("tag")
    if messaging_type is not None and messaging_type not in MESSAGING_TYPES:
        return bad("Param messaging_type must be one of {" + ", ".join(MESSAGING_TYPES) + "}")
    if messaging_type == "MESSAGE_TAG" and tag not in TAGS:
        return bad("Param tag must be one of {" + ", ".join(TAGS) + "}")
    if body.get("notification_type", "REGULAR") not in NOTIFICATION_TYPES:
        return bad("Param notification_type must be one of {" + ", ".join(NOTIFICATION_TYPES) + "}")
    tag = tag if messaging_type == "MESSAGE_TAG" else None
    if action is not None:
        if action not in SENDER_ACTIONS:
            return bad("Param sender_action must be one of {" + ", ".join(SENDER_ACTIONS) + "}")
        if kind != "psid":
            return bad("sender_action can only be sent to recipient.id")
        return SendPlan(kind, address, None, "window", messaging_type, None, None)
    message = body["message"]
    refused = check_message(message)
    if refused:
        return refused
    if kind == "psid" and messaging_type is None:
        return bad("Param messaging_type is required")
    rule = "none"
    if kind == "psid":
        rule = "human" if tag == "HUMAN_AGENT" else "none" if tag else "window"
    return SendPlan(kind, address, cut_quick_reply_titles(message), rule, messaging_type, tag,
                    optin_request(message))


def plan_marketing(body: Any, campaign_id: str) -> MarketingPlan | GraphRefusal:
    """Check a ``POST /act_{ad_account}/messages`` body (§3.9)."""
    if not isinstance(body, dict):
        return bad("The request body must be a JSON object")
    if not body.get("message_id"):
        return bad("Param message_id is required")
    if str(body["message_id"]) != campaign_id:
        return UNKNOWN_OBJECT
    data = body.get("messenger_delivery_data")
    token = data.get("subscription_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        return bad("Param messenger_delivery_data[subscription_token] is required")
    gap = body.get("min_conversation_gap_seconds", 0)
    if not isinstance(gap, int) or isinstance(gap, bool) or gap < 0:
        return bad("Param min_conversation_gap_seconds must be a non-negative integer")
    message = body.get("message")
    if not isinstance(message, dict):
        return bad("Param message must be a JSON object")
    for buttons in _button_lists(message):
        if any(not isinstance(b, dict) or b.get("type") != "web_url" for b in buttons):
            return refusal(100, "Only web_url buttons are allowed in marketing messages", 2300023)
        if len(buttons) > 3:
            return refusal(100, "A marketing message can have at most 3 buttons", 2300026)
    refused = check_message(message)
    if refused:
        return refused
    if optin_request(message):
        return bad("Opt-in templates cannot be sent as marketing messages")
    return MarketingPlan(token, message, gap * 1000)


def check_message(message: Any) -> GraphRefusal | None:
    """Text, quick replies and attachment limits of §3.4, §3.5 and §3.7."""
    if not isinstance(message, dict):
        return bad("Param message must be a JSON object")
    text, attachment = message.get("text"), message.get("attachment")
    if text is not None and attachment is not None:
        return bad("Only one of message[text] or message[attachment] can be specified")
    if text is None and attachment is None:
        return bad("Param message must contain text or attachment")
    if text is not None and (not isinstance(text, str) or not text):
        return bad("Param message[text] must be a non-empty UTF-8 encoded string")
    if isinstance(text, str) and len(text) > TEXT_MAX:
        return bad(f"Length of param message[text] must be less than or equal to {TEXT_MAX}")
    metadata = message.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) >= PAYLOAD_MAX):
        return bad(f"Param message[metadata] must be a string under {PAYLOAD_MAX} characters")
    refused = _check_quick_replies(message.get("quick_replies"))
    if refused or attachment is None:
        return refused
    return check_attachment(attachment)


def optin_request(message: dict[str, Any]) -> OptinRequest | None:
    """The opt-in card carried by ``message``, if it is one."""
    payload = _template(message)
    if payload is None or payload.get("template_type") not in OPTIN_TEMPLATES:
        return None
    kind = payload["template_type"]
    title = payload.get("title") or DEFAULT_OPTIN_TITLE
    timezone = payload.get("notification_messages_timezone")
    return OptinRequest(kind, title, str(payload.get("payload", "")), timezone if isinstance(timezone, str) else None)


def cut_quick_reply_titles(message: dict[str, Any]) -> dict[str, Any]:
    """Meta shows at most 20 characters of a quick reply title; the inbox shows what the shopper sees."""
    replies = message.get("quick_replies")
    if not replies or all(len(r.get("title", "")) <= QUICK_REPLY_TITLE_MAX for r in replies):
        return message
    cut = [{**r, "title": r["title"][:QUICK_REPLY_TITLE_MAX]} if "title" in r else r for r in replies]
    return {**message, "quick_replies": cut}


def _check_quick_replies(replies: Any) -> GraphRefusal | None:
    if replies is None:
        return None
    if not isinstance(replies, list) or not replies:
        return bad("Param message[quick_replies] must be a non-empty array")
    if len(replies) > QUICK_REPLIES_MAX:
        return bad(f"Param message[quick_replies] must have at most {QUICK_REPLIES_MAX} elements")
    for reply in replies:
        if not isinstance(reply, dict):
            return bad("Each quick reply must be an object")
        content_type = reply.get("content_type", "text")
        if content_type not in ("text", "user_phone_number", "user_email"):
            return bad("Param quick_replies[content_type] must be text, user_phone_number or user_email")
        if content_type != "text":
            continue
        title, payload = reply.get("title"), reply.get("payload")
        if not (isinstance(title, str) and title) and not reply.get("image_url"):
            return bad("A text quick reply must have a title or an image_url")
        if not isinstance(payload, (str, int)) or str(payload) == "" or len(str(payload)) > PAYLOAD_MAX:
            return bad(f"Param quick_replies[payload] is required, at most {PAYLOAD_MAX} characters")
    return None


def _template(message: dict[str, Any]) -> dict[str, Any] | None:
    attachment = message.get("attachment")
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return None
    payload = attachment.get("payload")
    return payload if isinstance(payload, dict) else None


def _button_lists(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    payload = _template(message)
    if payload is None:
        return []
    lists = [payload.get("buttons")]
    elements = payload.get("elements")
    if isinstance(elements, list):
        lists += [e.get("buttons") for e in elements if isinstance(e, dict)]
    return [b for b in lists if isinstance(b, list) and b]
