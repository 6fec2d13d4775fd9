"""A message body from the dialogue, in the shape Instagram takes (issue 15, messenger-platform.md §3.5, §9).

The dialogue builds Messenger bodies (:mod:`bot.graph.payloads`); :func:`instagram_message` is where a
body on its way to an Instagram shopper changes shape:

- the marketing-message opt-in request (``template_type: notification_messages``) is flat on Messenger;
  Instagram wraps the same fields in ``elements[]`` (§3.5 [C]); which fields stay beside
  ``elements`` is not documented in the notes: here only ``template_type`` does [U];
- a text is at most 1000 characters on Instagram (Meta's Instagram Messaging page [U]; Messenger
  allows 2000): a longer one raises :class:`~bot.graph.payloads.PayloadError` before any call.

Every other body (text, quick replies, button and generic templates) goes as it is [U for the
templates: Meta lists them for Instagram with the same shapes].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .graph.payloads import Json, PayloadError

INSTAGRAM_TEXT_MAX = 1000


def instagram_message(message: Mapping[str, Any]) -> Json:
    """``message`` as Instagram takes it (a new dict; the job's own body is left alone)."""
    text = message.get("text")
    if isinstance(text, str) and len(text) > INSTAGRAM_TEXT_MAX:
        raise PayloadError(f"text is {len(text)} characters; Instagram's limit is {INSTAGRAM_TEXT_MAX}")
    attachment = message.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, Mapping) else None
    if not isinstance(payload, Mapping) or payload.get("template_type") != "notification_messages" \
            or "elements" in payload:
        return dict(message)
    element = {k: v for k, v in payload.items() if k != "template_type"}
    wrapped = {"template_type": "notification_messages", "elements": [element]}
    return {**message, "attachment": {**attachment, "payload": wrapped}}  # type: ignore[dict-item]
