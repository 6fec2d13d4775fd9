"""Pure builders of Send API bodies, checked against Messenger's limits (§3.4–§3.9).

Each returns a plain dict ready to POST; an input Meta would refuse or cut raises
``PayloadError`` here, before any call, with a message naming the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import SalebellError

Json = dict[str, Any]

TEXT_MAX = 2000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
PAYLOAD_MAX = 1000
BUTTON_TITLE_MAX = 20
BUTTONS_MAX = 3
BUTTON_TEXT_MAX = 640
GENERIC_ELEMENTS_MAX = 10
GENERIC_TITLE_MAX = 80
OPTIN_TITLE_MAX = 65
METADATA_MAX = 1000

MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
TAGS = frozenset(
    {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT", "CUSTOMER_FEEDBACK"}
)
SENDER_ACTIONS = frozenset({"typing_on", "typing_off", "mark_seen"})
CTA_TEXTS = frozenset({"ALLOW", "FREQUENCY", "GET", "GET_UPDATES", "OPT_IN", "SIGN_UP"})


class PayloadError(SalebellError):
    """A message body Messenger would refuse (or silently cut)."""


def _check_text(what: str, value: str, limit: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{what} must be a string, got {type(value).__name__}")
    if not value and not allow_empty:
        raise PayloadError(f"{what} must not be empty")
    if len(value) > limit:
        raise PayloadError(f"{what} is {len(value)} characters; the limit is {limit}")
    return value


def _check_url(what: str, url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PayloadError(f"{what} must be an http(s) URL")
    return url


# --- recipients (§3.2) ---------------------------------------------------------------


def to_psid(psid: str) -> Json:
    return {"id": _check_text("psid", psid, 64)}


def to_comment(comment_id: str) -> Json:
    return {"comment_id": _check_text("comment_id", comment_id, 128)}


def to_marketing_token(token: str) -> Json:
    return {"notification_messages_token": _check_text("marketing token", token, 1024)}


def to_otn_token(token: str) -> Json:
    return {"one_time_notif_token": _check_text("OTN token", token, 1024)}


# --- messages (§3.4) -------------------------------------------------------------------


def text(body: str) -> Json:
    return {"text": _check_text("text", body, TEXT_MAX)}


def quick_replies(body: str, replies: Sequence[tuple[str, str]]) -> Json:
    if not 1 <= len(replies) <= QUICK_REPLIES_MAX:
        raise PayloadError(f"quick replies: {len(replies)} given; 1 to {QUICK_REPLIES_MAX} allowed")
    return {
        "text": _check_text("text", body, TEXT_MAX),
        "quick_replies": [
            {
                "content_type": "text",
                "title": _check_text("quick reply title", title, QUICK_REPLY_TITLE_MAX),
                "payload": _check_text("quick reply payload", payload, PAYLOAD_MAX),
            }
            for title, payload in replies
        ],
    }


def web_url_button(title: str, url: str) -> Json:
    return {
        "type": "web_url",
        "url": _check_url("button url", url),
        "title": _check_text("button title", title, BUTTON_TITLE_MAX),
    }


def postback_button(title: str, payload: str) -> Json:
    return {
        "type": "postback",
        "title": _check_text("button title", title, BUTTON_TITLE_MAX),
        "payload": _check_text("button payload", payload, PAYLOAD_MAX),
    }


def _check_buttons(buttons: Sequence[Mapping[str, Any]], *, minimum: int) -> list[Json]:
    if not minimum <= len(buttons) <= BUTTONS_MAX:
        raise PayloadError(f"buttons: {len(buttons)} given; {minimum} to {BUTTONS_MAX} allowed")
    for button in buttons:
        _check_text("button title", str(button.get("title", "")), BUTTON_TITLE_MAX)
    return [dict(b) for b in buttons]


def button_template(body: str, buttons: Sequence[Mapping[str, Any]]) -> Json:
    payload = {
        "template_type": "button",
        "text": _check_text("button template text", body, BUTTON_TEXT_MAX),
        "buttons": _check_buttons(buttons, minimum=1),
    }
    return {"attachment": {"type": "template", "payload": payload}}


def generic_element(
    title: str,
    subtitle: str | None = None,
    image_url: str | None = None,
    default_url: str | None = None,
    buttons: Sequence[Mapping[str, Any]] = (),
) -> Json:
    element: Json = {"title": _check_text("element title", title, GENERIC_TITLE_MAX)}
    if subtitle:
        element["subtitle"] = _check_text("element subtitle", subtitle, GENERIC_TITLE_MAX)
    if image_url:
        element["image_url"] = _check_url("image_url", image_url)
    if default_url:
        element["default_action"] = {"type": "web_url", "url": _check_url("default_url", default_url)}
    if buttons:
        element["buttons"] = _check_buttons(buttons, minimum=0)
    return element


def generic_template(elements: Sequence[Mapping[str, Any]]) -> Json:
    if not 1 <= len(elements) <= GENERIC_ELEMENTS_MAX:
        raise PayloadError(f"generic template: {len(elements)} elements; 1 to {GENERIC_ELEMENTS_MAX} allowed")
    for element in elements:
        _check_text("element title", str(element.get("title", "")), GENERIC_TITLE_MAX)
        _check_text("element subtitle", str(element.get("subtitle", "")), GENERIC_TITLE_MAX, allow_empty=True)
        _check_buttons(element.get("buttons", ()), minimum=0)
    payload = {"template_type": "generic", "elements": [dict(e) for e in elements]}
    return {"attachment": {"type": "template", "payload": payload}}


def notification_messages_request(
    title: str,
    payload: str,
    image_url: str | None = None,
    timezone: str | None = None,
    cta_text: str = "FREQUENCY",
) -> Json:
    """The marketing-message opt-in card (§3.5), in Messenger's flat shape."""
    if cta_text not in CTA_TEXTS:
        raise PayloadError(f"cta_text must be one of {sorted(CTA_TEXTS)}, got {cta_text!r}")
    body: Json = {
        "template_type": "notification_messages",
        "title": _check_text("opt-in title", title, OPTIN_TITLE_MAX),
        "payload": _check_text("opt-in payload", payload, PAYLOAD_MAX),
        "notification_messages_cta_text": cta_text,
    }
    if image_url:
        body["image_url"] = _check_url("image_url", image_url)
    if timezone:
        body["notification_messages_timezone"] = timezone
    return {"attachment": {"type": "template", "payload": body}}


def one_time_notif_request(title: str, payload: str) -> Json:
    """The legacy One-Time Notification request (§3.7)."""
    body = {
        "template_type": "one_time_notif_req",
        "title": _check_text("OTN title", title, OPTIN_TITLE_MAX),
        "payload": _check_text("OTN payload", payload, PAYLOAD_MAX),
    }
    return {"attachment": {"type": "template", "payload": body}}


# --- request bodies ---------------------------------------------------------------------


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
        msg["metadata"] = _check_text("metadata", metadata, METADATA_MAX - 1)
    body["message"] = msg
    return body


PAGE_INBOX_APP_ID = 263902037430900  # the Page Inbox: a person of the Page (messenger-platform.md §2.11)
THREAD_ACTIONS = {"pass": "pass_thread_control", "take": "take_thread_control",
                  "request": "request_thread_control"}


def thread_control_message(action: str, target_app_id: str = "", metadata: str = "") -> Json:
    """What a ``thread_control`` send job carries (§2.11): ``pass`` (to ``target_app_id``), ``take``
    or ``request``, with a metadata reason (never a token or a secret)."""
    if action not in THREAD_ACTIONS:
        raise PayloadError(f"thread control action must be one of {sorted(THREAD_ACTIONS)}")
    if action == "pass" and not target_app_id.isdigit():
        raise PayloadError("a pass of thread control needs the target app's id")
    _check_text("metadata", metadata, METADATA_MAX, allow_empty=True)
    return {"thread_control": action, "target_app_id": target_app_id, "metadata": metadata}


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
        "message_id": _check_text("message_campaign_id", message_campaign_id, 64),
        "messenger_delivery_data": {"subscription_token": _check_text("subscription token", subscription_token, 1024)},
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


def summary(message: Mapping[str, Any] | None) -> str:
    """The text a person reads first in a message: its text, or its template's text or title.

    The Conversations API reports a message's ``message`` as its text; for a template we take the
    template's own text (button), first element's title (generic) or title (opt-in requests). How
    Meta itself renders a template there is not documented [U]; the sandbox renders it this way.
    """
    if not isinstance(message, Mapping):
        return ""
    if isinstance(message.get("text"), str):
        return str(message["text"])
    attachment = message.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, Mapping) else None
    if not isinstance(payload, Mapping):
        return ""
    if isinstance(payload.get("text"), str):
        return str(payload["text"])
    elements = payload.get("elements")
    if isinstance(elements, list) and elements and isinstance(elements[0], Mapping):
        return str(elements[0].get("title") or "")
    return str(payload.get("title") or "")
