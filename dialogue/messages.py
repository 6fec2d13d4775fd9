"""The one adapter from rasa-sdk ``CollectingDispatcher.messages`` to Send API messages.

An action calls ``dispatcher.utter_message(...)``; each call becomes one Messenger
message, and the template it carries says how the outbox must judge it:

- ``json_message={...}`` (stored by rasa-sdk as ``custom``): a Send API ``message``
  as it is — e.g. an opt-in card from :func:`dialogue.kit.optin_card`;
- ``elements=[...]``: a generic template (carousel);
- ``image="https://..."``: an image attachment;
- ``text=...`` with ``buttons=[{title, payload | url}]``: a button template (1–3
  buttons; more become quick replies, as Messenger allows only three);
- ``text=...`` with ``quick_replies=[{title, payload}]``: quick replies;
- ``text=...``: a text message.

The purpose follows from the content: a ``notification_messages`` card is an
``optin_request`` and a ``one_time_notif_req`` an ``otn_request`` (both with their
title, for the once-a-week rule); everything else is a ``response``. Domain
responses (``response="utter_..."``) are not supported: there is no domain file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.graph import payloads
from bot.graph.payloads import PayloadError
from bot.policy import Purpose

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """One Send API message with the purpose and title the outbox needs."""

    message: dict[str, Any]
    purpose: Purpose = "response"
    title: str | None = None


def to_replies(messages: Iterable[Mapping[str, Any]]) -> list[Reply]:
    """Convert dispatcher messages; a message Messenger would refuse is logged and dropped."""
    replies = []
    for raw in messages:
        try:
            message = to_send_api(raw)
        except PayloadError as exc:
            log.warning("an action's message was dropped: %s", exc)
            continue
        if message is None:
            log.warning("an action's message had nothing Messenger can show (keys %s)",
                        sorted(k for k, v in raw.items() if v))
            continue
        replies.append(classify(message))
    return replies


def to_send_api(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """One dispatcher message as a Send API ``message`` object (None if empty)."""
    custom, text = raw.get("custom"), raw.get("text")
    if custom:
        if not isinstance(custom, Mapping) or not ("text" in custom or "attachment" in custom):
            raise PayloadError("json_message must be a Send API message with text or attachment")
        return dict(custom)
    if raw.get("elements"):
        return payloads.generic_template(list(raw["elements"]))
    if raw.get("image"):
        url = str(raw["image"])
        if not url.startswith(("https://", "http://")):
            raise PayloadError("image must be an http(s) URL")
        return {"attachment": {"type": "image", "payload": {"url": url, "is_reusable": True}}}
    if isinstance(raw.get("attachment"), Mapping):
        return {"attachment": dict(raw["attachment"])}
    if not text:
        return None
    buttons = list(raw.get("buttons") or [])
    if buttons and len(buttons) <= payloads.BUTTONS_MAX:
        return payloads.button_template(str(text), [_button(b) for b in buttons])
    replies = [(str(q["title"]), str(q["payload"])) for q in raw.get("quick_replies") or []
               if isinstance(q, Mapping) and q.get("title") and q.get("payload")]
    replies += [(str(b["title"]), str(b["payload"])) for b in buttons if b.get("payload")]
    if replies:
        return payloads.quick_replies(str(text), replies)
    return payloads.text(str(text))


def classify(message: dict[str, Any]) -> Reply:
    """The purpose (and title) a message needs from the outbox."""
    attachment = message.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, Mapping) else None
    if not isinstance(payload, Mapping):
        return Reply(message)
    kind = payload.get("template_type")
    if kind == "notification_messages":
        return Reply(message, "optin_request", str(payload.get("title") or "Updates and promotions"))
    if kind == "one_time_notif_req":
        return Reply(message, "otn_request", str(payload.get("title") or ""))
    return Reply(message)


def _button(button: Mapping[str, Any]) -> dict[str, Any]:
    title = str(button.get("title", ""))
    if button.get("url"):
        return payloads.web_url_button(title, str(button["url"]))
    return payloads.postback_button(title, str(button.get("payload", "")))
