"""The sandbox's ``POST /{ig-account-id}/messages``: Instagram messaging with the Page token (issue 15, §9).

What it checks before the shared send script (window, one private reply per comment within 7 days,
the opt-in request's rules) runs as for Messenger:

- the recipient is an Instagram shopper (``recipient.id``, their IGSID) or a comment on one of the
  account's media (``recipient.comment_id``); a Messenger PSID or a Page comment is "No matching
  user" (2018001) here, as an IGSID is at ``me/messages``;
- no message tag and no ``MESSAGE_TAG`` messaging type (Messenger's tags; [U] for ``HUMAN_AGENT``);
- the opt-in request (``notification_messages``) has its fields in ``elements[]`` (§3.5); the flat
  Messenger form is refused;
- a private reply to a comment on a live video only while the video is live (§9); after, it is
  refused [U: Meta's error code for it was not found; answered here as (#10) permission, subcode
  2534022 of a closed window];
- a private reply is a text and nothing else: Meta's Instagram private-replies pages (Instagram
  Platform and Business Messaging, updated Jun–Jul 2026) say the ``message`` parameter "contains the
  text you wish to send" and show only ``{"text": ...}`` [C]; quick replies, attachments and templates
  in it are refused here (Messenger's private replies take every message type, §3.8; whether Instagram
  refuses them, and with which code, is [U]: answered as (#100) invalid parameter). ``metadata`` (ours,
  for echoes) is not content and passes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .context import Sandbox
from .errors import NO_MATCHING_USER, GraphRefusal, refusal
from .instagram import on_instagram
from .rules import SendPlan, plan_send
from .templates import bad

PRIVATE_REPLY_TEXT_ONLY = "On Instagram a private reply (recipient.comment_id) takes message[text] only"
LIVE_ENDED = refusal(10, "(#10) This message is sent outside of allowed window: the live video has ended", 2534022)


async def plan_instagram(sandbox: Sandbox, body: Any) -> SendPlan | GraphRefusal:
    """Check a ``POST /{ig-account-id}/messages`` body; the plan is the Messenger one on channel instagram."""
    if not isinstance(body, dict):
        return bad("The request body must be a JSON object")
    if body.get("tag") is not None or body.get("messaging_type") == "MESSAGE_TAG":
        return bad("Message tags are not supported for Instagram messaging")
    message = body.get("message")
    flat = _flat_optin(message)
    if isinstance(flat, GraphRefusal):
        return flat
    checked = {**body, "messaging_type": body.get("messaging_type") or "RESPONSE"}
    if flat is not None:
        checked["message"] = flat
    plan = plan_send(checked)
    if isinstance(plan, GraphRefusal):
        return plan
    if plan.kind == "comment":
        if not isinstance(message, dict) or set(message) - {"text", "metadata"}:
            return bad(PRIVATE_REPLY_TEXT_ONLY)
        refused = await _check_comment(sandbox, plan.address)
        if refused is not None:
            return refused
    elif plan.kind != "psid":  # a PSID that is no Instagram shopper: send.lua refuses it (channel)
        return NO_MATCHING_USER  # tokens: no marketing messages through this endpoint
    return replace(plan, channel="instagram", message=message if flat is not None else plan.message)


async def refuse_instagram_comment(sandbox: Sandbox, body: Any) -> bool:
    """True when a ``me/messages`` body is a private reply to a comment on Instagram (not served there).
    An Instagram shopper's IGSID as ``recipient.id`` is refused by the send script (its channel check)."""
    recipient = body.get("recipient") if isinstance(body, dict) else None
    if not isinstance(recipient, dict):
        return False
    if isinstance(recipient.get("comment_id"), str):
        comment = await sandbox.state.comment(recipient["comment_id"])
        return comment is not None and on_instagram(await sandbox.state.post(comment.get("post_id", "")))
    return False


async def _check_comment(sandbox: Sandbox, comment_id: str) -> GraphRefusal | None:
    comment = await sandbox.state.comment(comment_id)
    post = await sandbox.state.post(comment.get("post_id", "")) if comment else None
    if not on_instagram(post):
        return NO_MATCHING_USER
    assert post is not None
    if post.get("live_video_id"):
        video = await sandbox.state.live_video(post["live_video_id"])
        if not video or video.get("status") != "LIVE":
            return LIVE_ENDED
    return None


def _flat_optin(message: Any) -> dict[str, Any] | GraphRefusal | None:
    """The Instagram opt-in request in Messenger's flat form (for the shared checks), a refusal for a flat
    one, or None for any other message."""
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict) or payload.get("template_type") != "notification_messages":
        return None
    elements = payload.get("elements")
    if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
        return bad("On Instagram the notification_messages template takes its fields in elements[] (one element)")
    flat_payload = {"template_type": "notification_messages", **elements[0]}
    assert isinstance(message, dict) and isinstance(attachment, dict)
    return {**message, "attachment": {**attachment, "payload": flat_payload}}
