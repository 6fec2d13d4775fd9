"""The Graph API send paths: ``POST me/messages`` (Send API) and ``POST act_{id}/messages`` (Marketing Message API).

Per call: the Page token check, payload validation (``rules``), then one Lua
script for everything stored (``Ledger.send``), the recipient's channel and
thread owner included, so a send to a PSID is one Redis command. Every call and its outcome is
recorded, with the access token left out.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .. import fast_json
from ..json_input import NotJson, load_json
from . import ids
from .context import SANDBOX, Sandbox
from .errors import (
    INVALID_TOKEN,
    NO_MATCHING_USER,
    UNKNOWN_OBJECT,
    GraphRefusal,
    answer_for,
    new_fbtrace_id,
    usage_header,
)
from .faults import Fault
from .instagram_send import plan_instagram, refuse_instagram_comment
from .ledger import SendResult, json_head
from .message_templates import plan_utility, template_of_send
from .rules import MarketingPlan, SendPlan, plan_marketing, plan_send

USAGE_HEADER = "X-Business-Use-Case-Usage"
JSON = "application/json"


TRACE_HEADER = "x-fb-trace-id"


@dataclass(frozen=True, slots=True)
class Call:
    """A Graph request's JSON body, the text to record, and an access token found in the body."""

    body: Any
    recorded: str
    body_token: str = ""


def access_token(request: web.Request, body_token: str = "") -> str:
    header = request.headers.get("Authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return bearer or request.query.get("access_token", "") or body_token


def authorized(request: web.Request, sandbox: Sandbox, body_token: str = "") -> bool:
    expected = sandbox.settings.page_access_token.reveal()
    return hmac.compare_digest(access_token(request, body_token).encode(), expected.encode())


def redacted_path(request: web.Request) -> str:
    """The path and query as recorded: the access token replaced by ``***``."""
    url = request.rel_url
    if "access_token" in url.query:
        url = url.with_query({k: ("***" if k == "access_token" else v) for k, v in url.query.items()})
    return url.path_qs


def json_answer(status: int, body: dict[str, Any], fbtrace_id: str, usage: str | None = None) -> web.Response:
    headers = {TRACE_HEADER: fbtrace_id}
    if usage:
        headers[USAGE_HEADER] = usage
    return web.Response(body=fast_json.dumps(body).encode(), status=status,
                        content_type=JSON, headers=headers)


def record_head(request: web.Request, api: str, fbtrace_id: str, request_json: str, **ids_: str) -> str:
    """The sent-log record up to (and including) the request body; the script appends the outcome."""
    head = json_head({"method": request.method, "path": redacted_path(request), "api": api,
                      "fbtrace_id": fbtrace_id, **ids_})
    return head + ',"request":' + request_json


async def refuse(sandbox: Sandbox, request: web.Request, api: str, refused: GraphRefusal, fbtrace_id: str,
                 request_json: str = "null") -> web.Response:
    """Answer and record a refusal decided before the send script."""
    body = refused.body(fbtrace_id)
    head = record_head(request, api, fbtrace_id, request_json)
    await sandbox.ledger.record(head + f',"status":{refused.status},"answer":' + json.dumps(body))
    return json_answer(refused.status, body, fbtrace_id)


async def done(sandbox: Sandbox, request: web.Request, api: str, body: dict[str, Any],
               request_json: str = "null") -> web.Response:
    """Answer and record a successful call that changes no send state (profile, reads)."""
    fbtrace_id = new_fbtrace_id()
    head = record_head(request, api, fbtrace_id, request_json)
    await sandbox.ledger.record(head + ',"status":200,"answer":' + json.dumps(body))
    return json_answer(200, body, fbtrace_id)


def parse_body(raw: bytes) -> Call:
    """The JSON body; recorded as received unless it carried an access token (then without it)."""
    try:
        body = load_json(raw) if raw else None
    except NotJson:
        return Call(None, "null")
    if isinstance(body, dict) and "access_token" in body:
        token = body.pop("access_token")
        return Call(body, json.dumps(body), token if isinstance(token, str) else "")
    return Call(body, raw.decode() if raw else "null")


def answer(sandbox: Sandbox, result: SendResult, api: str, fbtrace_id: str, **ids_: str) -> web.Response:
    status, body = answer_for({"outcome": result.outcome, "api": api, "fbtrace_id": fbtrace_id,
                               "recipient_id": result.psid, **ids_})
    usage = usage_header(sandbox.page_id, result.calls, result.limit) if result.limit else None
    return json_answer(status, body, fbtrace_id, usage)


async def post_messages(request: web.Request) -> web.Response:
    """``POST /{version}/{node}/messages``: ``me`` or the Page id, ``act_{ad_account}``, or the Page's Instagram
    account (:mod:`bot.sandbox.instagram_send`)."""
    sandbox = request.app[SANDBOX]
    node = request.match_info["node"]
    fbtrace_id = new_fbtrace_id()
    call = parse_body(await request.read())
    body, request_json = call.body, call.recorded
    marketing = node.startswith("act_")
    api = "marketing" if marketing else "action" if isinstance(body, dict) and "sender_action" in body else "send"
    if not authorized(request, sandbox, call.body_token):
        return await refuse(sandbox, request, api, INVALID_TOKEN, fbtrace_id, request_json)
    instagram = bool(sandbox.settings.instagram_account_id) and node == sandbox.settings.instagram_account_id
    if node not in ("me", sandbox.page_id, "act_" + sandbox.settings.ad_account_id) and not instagram:
        return await refuse(sandbox, request, api, UNKNOWN_OBJECT, fbtrace_id, request_json)
    fault = await sandbox.faults.take(_recipient_psid(body))
    if fault is not None and fault.refuses:
        return await _faulted(sandbox, request, api, fault, fbtrace_id, request_json)
    response = await _post(sandbox, request, body, api, marketing, fbtrace_id, request_json, instagram)
    if fault is not None and fault.lose_answer and request.transport is not None:
        request.transport.abort()  # sent; the answer is lost on the way back
    if fault is not None and fault.usage:
        response.headers[USAGE_HEADER] = fault.usage
    return response


async def _post(sandbox: Sandbox, request: web.Request, body: Any, api: str, marketing: bool, fbtrace_id: str,
                request_json: str, instagram: bool = False) -> web.Response:
    if instagram:
        plan_ig = await plan_instagram(sandbox, body)
        if isinstance(plan_ig, GraphRefusal):
            return await refuse(sandbox, request, api, plan_ig, fbtrace_id, request_json)
        return await _send(sandbox, request, plan_ig, api, fbtrace_id, request_json)
    if not marketing and await refuse_instagram_comment(sandbox, body):
        return await refuse(sandbox, request, api, NO_MATCHING_USER, fbtrace_id, request_json)
    if marketing:
        plan_m = plan_marketing(body, sandbox.settings.message_campaign_id)
        if isinstance(plan_m, GraphRefusal):
            return await refuse(sandbox, request, api, plan_m, fbtrace_id, request_json)
        return await _send_marketing(sandbox, request, plan_m, fbtrace_id, request_json)
    if isinstance(body, dict) and body.get("messaging_type") == "UTILITY":
        plan = await _plan_utility(sandbox, body)
    else:
        plan = plan_send(body)
    if isinstance(plan, GraphRefusal):
        return await refuse(sandbox, request, api, plan, fbtrace_id, request_json)
    # an Instagram shopper is no user here, and a thread the Page Inbox owns refuses us: send.lua checks both
    return await _send(sandbox, request, plan, api, fbtrace_id, request_json, thread_app=str(sandbox.app_id))


async def _plan_utility(sandbox: Sandbox, body: dict[str, Any]) -> SendPlan | GraphRefusal:
    """A utility message (§3.3, §9; shape [U]): the Page's permission, its approved template, every parameter."""
    found = template_of_send(body)
    template = await sandbox.templates.get(found[0], found[1]) if not isinstance(found, GraphRefusal) else None
    permitted = bool((await sandbox.ledger.config())["page_utility_messaging"])
    return plan_utility(body, template, permitted)


async def _send(sandbox: Sandbox, request: web.Request, plan: SendPlan, api: str, fbtrace_id: str,
                request_json: str, thread_app: str = "") -> web.Response:
    """Run the send script for ``plan``; ``thread_app``: our app id when the thread must be ours."""
    mid = ids.new_mid()
    entry: dict[str, Any] = {"message_id": mid, "message": plan.message, "messaging_type": plan.messaging_type,
                             "tag": plan.tag, "via": plan.via}
    if plan.kind == "comment":
        entry["comment_id"] = plan.address
    optin_head = ""
    if plan.optin:
        optin_head = json_head({"kind": plan.optin.kind, "title": plan.optin.title, "payload": plan.optin.payload,
                                "timezone": plan.optin.timezone, "message_id": mid})
    result = await sandbox.ledger.send(
        kind=plan.kind, address=plan.address, mode="message" if plan.message is not None else "action",
        rule=plan.rule, optin_title=plan.optin.title if plan.optin else "", optin_head=optin_head,
        inbox_head=json_head(entry) if plan.message is not None else "",
        sent_head=record_head(request, api, fbtrace_id, request_json, message_id=mid), mid=mid,
        metadata=_metadata(plan.message), channel=plan.channel, thread_app=thread_app)
    return answer(sandbox, result, api, fbtrace_id, message_id=mid)


def _recipient_psid(body: Any) -> str:
    recipient = body.get("recipient") if isinstance(body, dict) else None
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    return psid if isinstance(psid, str) else ""


async def _faulted(sandbox: Sandbox, request: web.Request, api: str, fault: Fault, fbtrace_id: str,
                   request_json: str) -> web.Response:
    """Answer and record an armed test fault (``bot.sandbox.faults``): nothing is sent."""
    body = fault.body(fbtrace_id)
    head = record_head(request, api, fbtrace_id, request_json)
    await sandbox.ledger.record(head + f',"status":{fault.status},"answer":' + json.dumps(body))
    headers = {TRACE_HEADER: fbtrace_id, **({USAGE_HEADER: fault.usage} if fault.usage else {})}
    return web.Response(body=json.dumps(body).encode(), status=fault.status, content_type=JSON, headers=headers)


def _metadata(message: Any) -> str:
    """The sender's ``message.metadata`` (returned in the echo), without spaces-breaking surprises."""
    value = message.get("metadata") if isinstance(message, dict) else None
    return value.replace(" ", "\u0020") if isinstance(value, str) else ""


async def _send_marketing(sandbox: Sandbox, request: web.Request, plan: MarketingPlan, fbtrace_id: str,
                          request_json: str) -> web.Response:
    mid, tracking_id = ids.new_mid(), ids.new_tracking_id()
    entry = {"message_id": mid, "message": plan.message, "messaging_type": None, "tag": None,
             "via": "marketing_api", "tracking_id": tracking_id}
    result = await sandbox.ledger.send(
        kind="mm", address=plan.token, mode="message", rule="none", inbox_head=json_head(entry),
        sent_head=record_head(request, "marketing", fbtrace_id, request_json, message_id=mid,
                              tracking_id=tracking_id),
        mid=mid, gap_ms=plan.gap_ms, metadata=marketing_echo_mark(tracking_id, plan.token))
    return answer(sandbox, result, "marketing", fbtrace_id, message_id=mid, tracking_id=tracking_id)


MARKETING_ECHO = "\x1fmm:"  # a receipt's mark for a marketing_message_echoes webhook (never a job's metadata)


def marketing_echo_mark(tracking_id: str, token: str) -> str:
    return f"{MARKETING_ECHO}{tracking_id}:{token}"
