"""Attachment and template limits of the Send API (messenger-platform.md §3.4, §3.5, §3.7)."""

from __future__ import annotations

from typing import Any

from .errors import GraphRefusal, refusal

PAYLOAD_MAX = 1000
OPTIN_TEMPLATES = ("notification_messages", "one_time_notif_req")
BUTTON_TEXT_MAX = 640
GENERIC_ELEMENTS_MAX = 10
ELEMENT_TEXT_MAX = 80
OPTIN_TITLE_MAX = 65
ATTACHMENT_TYPES = ("image", "video", "audio", "file", "template")
TEMPLATE_TYPES = ("button", "generic", "media", "receipt", "notification_messages", "one_time_notif_req")
CTA_TEXTS = ("ALLOW", "FREQUENCY", "GET", "GET_UPDATES", "OPT_IN", "SIGN_UP")
BUTTON_TYPES = ("web_url", "postback", "phone_number", "account_link", "account_unlink", "game_play")


def bad(message: str) -> GraphRefusal:
    """Meta's generic invalid-parameter refusal (code 100, no subcode)."""
    return refusal(100, message)


def check_attachment(attachment: Any) -> GraphRefusal | None:
    if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
        return bad("Param message[attachment][type] must be one of " + ", ".join(ATTACHMENT_TYPES))
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        return bad("Param message[attachment][payload] must be an object")
    if attachment["type"] != "template":
        if not (payload.get("url") or payload.get("attachment_id")):
            return bad("Param message[attachment][payload] needs a url or an attachment_id")
        return None
    template_type = payload.get("template_type")
    if template_type not in TEMPLATE_TYPES:
        return bad("Param template_type must be one of " + ", ".join(TEMPLATE_TYPES))
    if template_type == "button":
        return _check_button_template(payload)
    if template_type == "generic":
        return _check_generic_template(payload)
    if template_type in OPTIN_TEMPLATES:
        return _check_optin_template(payload)
    return None


def _check_button_template(payload: dict[str, Any]) -> GraphRefusal | None:
    text = payload.get("text")
    if not isinstance(text, str) or not text or len(text) > BUTTON_TEXT_MAX:
        return bad(f"Param payload[text] is required, at most {BUTTON_TEXT_MAX} characters")
    buttons = payload.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return bad("Param payload[buttons] must have 1 to 3 elements")
    return _check_buttons(buttons)


def _check_generic_template(payload: dict[str, Any]) -> GraphRefusal | None:
    elements = payload.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= GENERIC_ELEMENTS_MAX:
        return bad(f"Param payload[elements] must have 1 to {GENERIC_ELEMENTS_MAX} elements")
    for element in elements:
        if not isinstance(element, dict):
            return bad("Each element must be an object")
        title, subtitle = element.get("title"), element.get("subtitle", "")
        if not isinstance(title, str) or not title or len(title) > ELEMENT_TEXT_MAX:
            return bad(f"Param elements[title] is required, at most {ELEMENT_TEXT_MAX} characters")
        if not isinstance(subtitle, str) or len(subtitle) > ELEMENT_TEXT_MAX:
            return bad(f"Param elements[subtitle] must be at most {ELEMENT_TEXT_MAX} characters")
        buttons = element.get("buttons", [])
        if not isinstance(buttons, list) or len(buttons) > 3:
            return bad("Param elements[buttons] must have at most 3 elements")
        refused = _check_buttons(buttons)
        if refused:
            return refused
    return None


def _check_buttons(buttons: list[Any]) -> GraphRefusal | None:
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
            return bad("Param buttons[type] must be one of " + ", ".join(BUTTON_TYPES))
        if button["type"] == "web_url" and not button.get("url"):
            return bad("A web_url button needs a url")
        if button["type"] in ("postback", "phone_number") and not button.get("payload"):
            return bad("A postback button needs a payload")
        if button["type"] in ("web_url", "postback", "phone_number") and not button.get("title"):
            return bad("Param buttons[title] is required")
    return None


def _check_optin_template(payload: dict[str, Any]) -> GraphRefusal | None:
    title = payload.get("title")
    if payload["template_type"] == "one_time_notif_req" and not (isinstance(title, str) and title):
        return bad("Param payload[title] is required for one_time_notif_req")
    if title is not None and (not isinstance(title, str) or len(title) > OPTIN_TITLE_MAX):
        return bad(f"Param payload[title] must be at most {OPTIN_TITLE_MAX} characters")
    optin_payload = payload.get("payload")
    if payload["template_type"] == "one_time_notif_req" and not optin_payload:
        return bad("Param payload[payload] is required for one_time_notif_req")
    if optin_payload is not None and (not isinstance(optin_payload, str) or len(optin_payload) > PAYLOAD_MAX):
        return bad(f"Param payload[payload] must be a string of at most {PAYLOAD_MAX} characters")
    cta = payload.get("notification_messages_cta_text")
    if cta is not None and cta not in CTA_TEXTS:
        return bad("Param notification_messages_cta_text must be one of " + ", ".join(CTA_TEXTS))
    return None
