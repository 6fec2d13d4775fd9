"""Errors of the sandbox: Meta-shaped Graph API refusals and shopper-API errors.

    SalebellError
    └── SandboxError            a shopper/admin API call the sandbox refuses (JSON {"error": ...})
        ├── NotFound            404: no such shopper, post or live video
        ├── Conflict            409: nothing to tap (no opt-in request, no token for the title)
        └── BadRequest          400: a field is missing or has a wrong type

Graph API refusals are not exceptions: a send's outcome is a short name
(``"window"``, ``"nmt_freq"``, ...) returned by the Lua script and stored with
the request in the sent log; :func:`answer_for` turns a recorded outcome into
the exact answer Meta would give, so ``GET /sandbox/sent`` and the live answer
never disagree.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import SalebellError


class SandboxError(SalebellError):
    """A shopper/admin API call the sandbox refuses."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(SandboxError):
    status = 400


class NotFound(SandboxError):
    status = 404


class Conflict(SandboxError):
    status = 409


@dataclass(frozen=True, slots=True)
class GraphRefusal:
    """One Graph API error: ``code``, optional ``subcode`` and Meta's message."""

    code: int
    subcode: int | None
    message: str

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": "OAuthException", "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}

    @property
    def status(self) -> int:
        # Graph answers 400 for refusals; 1 and 2 are Meta-side failures.
        return 500 if self.code in (1, 2) else 400


def refusal(code: int, message: str, subcode: int | None = None) -> GraphRefusal:
    return GraphRefusal(code, subcode, f"(#{code}) {message}")


INVALID_TOKEN = refusal(190, "Invalid OAuth access token.")
THREAD_CONTROLLED = refusal(10, "(#10) This thread is controlled by another app: use the Handover Protocol",
                            2018300)
NO_MATCHING_USER = refusal(100, "No matching user found", 2018001)
MESSAGE_AND_ACTION = refusal(100, "Param message and sender_action cannot be sent together", 2018014)
UNKNOWN_OBJECT = refusal(100, "Unsupported request. The object does not exist, cannot be loaded due to "
                              "missing permissions, or does not support this operation", 33)

# Outcomes decided inside the send script (bot/sandbox/send.lua).
OUTCOMES: dict[str, GraphRefusal] = {
    "rate": refusal(613, "Calls to this api have exceeded the rate limit.", 2534040),
    "no_user": NO_MATCHING_USER,
    "thread_controlled": THREAD_CONTROLLED,
    "blocked": refusal(551, "This person isn't available right now.", 1545041),
    "window": refusal(10, "This message is sent outside of allowed window.", 2018278),
    "optin_weekly": refusal(613, "Cannot send multiple opt-in requests with the same title to a user "
                                 "within a week.", 1893016),
    "nmt_unknown": refusal(100, "notification_messages_token is invalid"),
    "nmt_stopped": refusal(10, "User has currently stopped notification messages for this topic", 1893015),
    "nmt_freq": refusal(4, "Marketing message can't be sent to this user right now due to the frequency "
                           "limit. Try again after next_eligible_time.", 2018354),
    "otn_unknown": refusal(100, "one_time_notif_token is invalid"),
    "otn_used": refusal(100, "This one_time_notif_token has already been used"),
    "otn_expired": refusal(100, "one_time_notif_token has expired"),
    "comment_unknown": UNKNOWN_OBJECT,
    "comment_replied": refusal(10, "Only one private reply is allowed per comment"),
    "comment_old": refusal(10, "A private reply can only be sent within 7 days of the comment"),
    "mm_unknown": refusal(100, "Invalid subscription token", 2300004),
    "mm_stopped": refusal(100, "The subscriber has stopped marketing messages from this Page", 2300034),
    "mm_freq": refusal(100, "The minimum delay between two marketing messages to this subscriber "
                            "(12 hours) has not passed", 2300035),
    "mm_gap": refusal(100, "Blocked by min_conversation_gap_seconds: recent conversation activity", 2300052),
}


def new_fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


def answer_for(record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body Meta gives for a recorded request."""
    if "answer" in record:  # refused before the script ran (auth, validation)
        return int(record["status"]), record["answer"]
    outcome = record["outcome"]
    if outcome != "ok":
        refused = OUTCOMES[outcome]
        return refused.status, refused.body(record["fbtrace_id"])
    api = record.get("api")
    if api == "marketing":
        return 200, {"success": True, "marketing_message_tracking_id": record["tracking_id"]}
    if api == "action":
        return 200, {"recipient_id": record["recipient_id"]}
    return 200, {"recipient_id": record["recipient_id"], "message_id": record["message_id"]}


def usage_header(page_id: str, calls: int, limit: int) -> str:
    """``X-Business-Use-Case-Usage`` for the Page's messenger calls in this second."""
    percent = min(100, calls * 100 // limit) if limit > 0 else 0
    # The sandbox's window is one second, so access comes back in under a minute: 0.
    usage = [{"type": "messenger", "call_count": percent, "total_cputime": percent // 4,
              "total_time": percent // 4, "estimated_time_to_regain_access": 0}]
    return json.dumps({page_id: usage}, separators=(",", ":"))
