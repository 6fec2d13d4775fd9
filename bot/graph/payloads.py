"""Pure builders of message payloads (texts, buttons, templates, opt-in requests), checked against
Messenger's limits (§3.4–§3.8).

Each returns a plain dict, the ``message`` of a request body (``bot.graph.request_bodies``); an input
Meta would refuse or cut raises ``PayloadError`` here, before any call, with a message naming the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

CTA_TEXTS = frozenset({"ALLOW", "FREQUENCY", "GET", "GET_UPDATES", "OPT_IN", "SIGN_UP"})


class PayloadError(SalebellError):
    """A message body Messenger would refuse (or silently cut)."""


def check_text(what: str, value: str, limit: int, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string within ``limit`` characters (and not empty unless allowed), else PayloadError."""
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


# --- messages (§3.4) -------------------------------------------------------------------


def text(body: str) -> Json:
    return {"text": check_text("text", body, TEXT_MAX)}


def quick_replies(body: str, replies: Sequence[tuple[str, str]]) -> Json:
    if not 1 <= len(replies) <= QUICK_REPLIES_MAX:
        raise PayloadError(f"quick replies: {len(replies)} given; 1 to {QUICK_REPLIES_MAX} allowed")
    return {
        "text": check_text("text", body, TEXT_MAX),
        "quick_replies": [
            {
                "content_type": "text",
                "title": check_text("quick reply title", title, QUICK_REPLY_TITLE_MAX),
                "payload": check_text("quick reply payload", payload, PAYLOAD_MAX),
            }
            for title, payload in replies
        ],
    }


def web_url_button(title: str, url: str) -> Json:
    return {
        "type": "web_url",
        "url": _check_url("button url", url),
        "title": check_text("button title", title, BUTTON_TITLE_MAX),
    }


def postback_button(title: str, payload: str) -> Json:
    return {
        "type": "postback",
        "title": check_text("button title", title, BUTTON_TITLE_MAX),
        "payload": check_text("button payload", payload, PAYLOAD_MAX),
    }


def _check_buttons(buttons: Sequence[Mapping[str, Any]], *, minimum: int) -> list[Json]:
    if not minimum <= len(buttons) <= BUTTONS_MAX:
        raise PayloadError(f"buttons: {len(buttons)} given; {minimum} to {BUTTONS_MAX} allowed")
    for button in buttons:
        check_text("button title", str(button.get("title", "")), BUTTON_TITLE_MAX)
    return [dict(b) for b in buttons]


def button_template(body: str, buttons: Sequence[Mapping[str, Any]]) -> Json:
    payload = {
        "template_type": "button",
        "text": check_text("button template text", body, BUTTON_TEXT_MAX),
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
    element: Json = {"title": check_text("element title", title, GENERIC_TITLE_MAX)}
    if subtitle:
        element["subtitle"] = check_text("element subtitle", subtitle, GENERIC_TITLE_MAX)
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
        check_text("element title", str(element.get("title", "")), GENERIC_TITLE_MAX)
        check_text("element subtitle", str(element.get("subtitle", "")), GENERIC_TITLE_MAX, allow_empty=True)
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
        "title": check_text("opt-in title", title, OPTIN_TITLE_MAX),
        "payload": check_text("opt-in payload", payload, PAYLOAD_MAX),
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
        "title": check_text("OTN title", title, OPTIN_TITLE_MAX),
        "payload": check_text("OTN payload", payload, PAYLOAD_MAX),
    }
    return {"attachment": {"type": "template", "payload": body}}

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
    check_text("metadata", metadata, METADATA_MAX, allow_empty=True)
    return {"thread_control": action, "target_app_id": target_app_id, "metadata": metadata}


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
