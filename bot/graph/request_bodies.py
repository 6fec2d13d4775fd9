"""Pure builders of Graph request bodies: who a message goes to (§3.2) and how it is sent (§3.4–§3.9).

A ``POST /me/messages`` body (recipient, messaging type or tag, the message of ``bot.graph.payloads``,
metadata), a sender action, a thread-control call (§2.11) and a Marketing Message API send. Each returns a
plain dict ready to POST; an input Meta would refuse raises ``PayloadError`` here, before any call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .payloads import BUTTONS_MAX, METADATA_MAX, THREAD_ACTIONS, Json, PayloadError, check_text

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
TAGS = frozenset(
    {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT", "CUSTOMER_FEEDBACK"}
)
SENDER_ACTIONS = frozenset({"typing_on", "typing_off", "mark_seen"})


# --- recipients (§3.2) ---------------------------------------------------------------


def to_psid(psid: str) -> Json:
    return {"id": check_text("psid", psid, 64)}


def to_comment(comment_id: str) -> Json:
    return {"comment_id": check_text("comment_id", comment_id, 128)}


def to_marketing_token(token: str) -> Json:
    return {"notification_messages_token": check_text("marketing token", token, 1024)}


def to_otn_token(token: str) -> Json:
    return {"one_time_notif_token": check_text("OTN token", token, 1024)}


# --- bodies -----------------------------------------------------------------------------


def send_body(
    recipient: Mapping[str, str],
    message: Mapping[str, Any],
    messaging_type: str | None = None,
    tag: str | None = None,
    metadata: str | None = None,
) -> Json:
    """A ``POST /me/messages`` body. A tag implies ``MESSAGE_TAG``; ``metadata`` comes back in the echo."""
    if tag is not None:
        if tag not in TAGS:
            raise PayloadError(f"unknown message tag {tag!r}")
        if messaging_type not in (None, "MESSAGE_TAG"):
            raise PayloadError(f"a tag needs messaging_type MESSAGE_TAG, not {messaging_type}")
        messaging_type = "MESSAGE_TAG"
    elif messaging_type == "MESSAGE_TAG":
        raise PayloadError("messaging_type MESSAGE_TAG needs a tag")
    if messaging_type is not None and messaging_type not in MESSAGING_TYPES:
        raise PayloadError(f"messaging_type must be one of {sorted(MESSAGING_TYPES)}")
    if not message:
        raise PayloadError("message must not be empty")
    body: Json = {"recipient": dict(recipient)}
    if messaging_type:
        body["messaging_type"] = messaging_type
    if tag:
        body["tag"] = tag
    msg = dict(message)
    if metadata is not None:
        msg["metadata"] = check_text("metadata", metadata, METADATA_MAX - 1)
    body["message"] = msg
    return body


def thread_control_body(psid: str, message: Mapping[str, Any]) -> tuple[str, Json]:
    """The Graph edge and body of a ``thread_control`` job: ``POST /me/pass_thread_control`` and the others."""
    action = str(message.get("thread_control"))
    if action not in THREAD_ACTIONS:
        raise PayloadError(f"thread control action must be one of {sorted(THREAD_ACTIONS)}")
    body: Json = {"recipient": {"id": psid}}
    if action == "pass":
        body["target_app_id"] = int(str(message.get("target_app_id")))
    if message.get("metadata"):
        body["metadata"] = str(message["metadata"])
    return "me/" + THREAD_ACTIONS[action], body


def sender_action_body(psid: str, action: str) -> Json:
    if action not in SENDER_ACTIONS:
        raise PayloadError(f"sender action must be one of {sorted(SENDER_ACTIONS)}, got {action!r}")
    return {"recipient": to_psid(psid), "sender_action": action}


def marketing_api_body(
    message_campaign_id: str,
    subscription_token: str,
    message: Mapping[str, Any],
    min_conversation_gap_seconds: int | None = None,
) -> Json:
    """A ``POST /act_{ad_account}/messages`` body (§3.9): buttons web_url only, at most 3."""
    for buttons in _button_lists(message):
        if len(buttons) > BUTTONS_MAX:
            raise PayloadError(f"marketing message: {len(buttons)} buttons; at most {BUTTONS_MAX}")
        if any(b.get("type") != "web_url" for b in buttons):
            raise PayloadError("marketing message buttons must all be web_url")
    body: Json = {
        "message_id": check_text("message_campaign_id", message_campaign_id, 64),
        "messenger_delivery_data": {"subscription_token": check_text("subscription token", subscription_token, 1024)},
        "message": dict(message),
    }
    if min_conversation_gap_seconds is not None:
        if min_conversation_gap_seconds < 0:
            raise PayloadError("min_conversation_gap_seconds must not be negative")
        body["min_conversation_gap_seconds"] = int(min_conversation_gap_seconds)
    return body


def _button_lists(message: Mapping[str, Any]) -> Iterable[list[Mapping[str, Any]]]:
    payload = (message.get("attachment") or {}).get("payload") or {}
    if "buttons" in payload:
        yield list(payload["buttons"])
    for element in payload.get("elements") or ():
        if "buttons" in element:
            yield list(element["buttons"])
