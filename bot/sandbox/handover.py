"""The Handover Protocol in the sandbox (messenger-platform.md §2.11): who owns each shopper's thread.

Two apps share the Page: ours (the primary receiver, owner of every thread at first) and the
Page Inbox (app 263902037430900, a person of the Page). Per shopper the sandbox keeps the thread's
owner (the shopper hash's ``thread_owner``; none: ours).

Graph API (our app's calls; Page token):

- ``POST /me/pass_thread_control`` ``{recipient: {id}, target_app_id, metadata?}``: only the owner may
  pass (else 10/2018300); the target must be the Page Inbox (else 100). Meta tells the new owner;
  our app gets no webhook for its own pass.
- ``POST /me/take_thread_control`` ``{recipient: {id}, metadata?}``: the primary receiver takes the
  thread back (the Page Inbox, which lost it, is told; our app is not).
- ``POST /me/request_thread_control`` ``{recipient: {id}, metadata?}``: asks the owner for the thread;
  kept on the shopper (``thread_requested``) for the Page Inbox to see. Asking for a thread one owns
  is refused (10/2018300 does not apply: 100).

While the Page Inbox owns a thread, the shopper's messages and the Page Inbox's own replies come to
our app on ``standby``, and a message our app sends into it fails with 10/2018300.

The Page Inbox's side (a person, ``POST /sandbox/shoppers/{psid}/thread-control``
``{action: pass|take|request, metadata?}``): ``pass`` gives the thread back to our app
(``pass_thread_control`` webhook), ``take`` takes it from our app (``take_thread_control``),
``request`` asks our app for it (``request_thread_control``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .context import SANDBOX, Sandbox, read_json, shopper_of
from .errors import INVALID_TOKEN, UNKNOWN_OBJECT, BadRequest, Conflict, GraphRefusal, new_fbtrace_id, refusal
from .graph_api import authorized, done, parse_body, refuse
from .webhooks import PAGE_INBOX_APP_ID, from_shopper, messaging_body

NOT_OWNER = refusal(10, "(#10) Only the app that owns the thread may pass thread control", 2018300)
ALREADY_OWNER = refusal(100, "(#100) The app already owns this thread")
BAD_TARGET = refusal(100, "(#100) Param target_app_id must be an app with a role on the Page (the Page Inbox: "
                          f"{PAGE_INBOX_APP_ID})")
OWNER_FIELD, REQUESTED_FIELD = "thread_owner", "thread_requested"


async def owner_of(sandbox: Sandbox, psid: str) -> int:
    """The app that owns the shopper's thread (ours unless passed)."""
    return await sandbox.state.thread_owner(psid, sandbox.app_id)


async def owned_by_other_app(sandbox: Sandbox, psid: str) -> bool:
    """Another app (the Page Inbox) owns the thread: our app hears it on ``standby`` and may not send (§2.11)."""
    return await owner_of(sandbox, psid) != sandbox.app_id


async def _set_owner(sandbox: Sandbox, psid: str, app_id: int) -> None:
    await sandbox.state.set_fields(psid, {OWNER_FIELD: str(app_id), REQUESTED_FIELD: ""})


async def graph_thread_control(request: web.Request) -> web.Response:
    """``POST /{version}/me/{pass,take,request}_thread_control`` by our app."""
    sandbox = request.app[SANDBOX]
    action = request.match_info["action"]
    call = parse_body(await request.read())
    api, fbtrace_id = "handover", new_fbtrace_id()
    if not authorized(request, sandbox, call.body_token):
        return await refuse(sandbox, request, api, INVALID_TOKEN, fbtrace_id, call.recorded)
    if request.match_info["node"] not in ("me", sandbox.page_id):
        return await refuse(sandbox, request, api, UNKNOWN_OBJECT, fbtrace_id, call.recorded)
    body = call.body if isinstance(call.body, dict) else {}
    recipient = body.get("recipient")
    psid = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
    metadata = body.get("metadata", "")
    refused: GraphRefusal | None = None
    if not psid or await sandbox.state.shopper(psid) is None:
        refused = refusal(100, "(#100) No matching user found", 2018001)
    elif not isinstance(metadata, str) or len(metadata) > 1000:
        refused = refusal(100, "(#100) Param metadata must be a string of at most 1000 characters")
    if refused is not None:
        return await refuse(sandbox, request, api, refused, fbtrace_id, call.recorded)
    owner, ours = await owner_of(sandbox, psid), sandbox.app_id
    if action == "pass":
        target = body.get("target_app_id")
        if owner != ours:
            return await refuse(sandbox, request, api, NOT_OWNER, fbtrace_id, call.recorded)
        if str(target) != str(PAGE_INBOX_APP_ID):
            return await refuse(sandbox, request, api, BAD_TARGET, fbtrace_id, call.recorded)
        await _set_owner(sandbox, psid, PAGE_INBOX_APP_ID)
    elif action == "take":
        await _set_owner(sandbox, psid, ours)
    else:
        if owner == ours:
            return await refuse(sandbox, request, api, ALREADY_OWNER, fbtrace_id, call.recorded)
        await sandbox.state.set_fields(psid, {REQUESTED_FIELD: json.dumps({"metadata": metadata})})
    return await done(sandbox, request, api, {"success": True}, call.recorded)


async def inbox_thread_control(request: web.Request) -> web.Response:
    """The Page Inbox (a person) passes the thread back, takes it, or asks for it: our app gets the webhook."""
    sandbox, psid, _ = await shopper_of(request)
    body = await read_json(request)
    action, metadata = body.get("action"), body.get("metadata", "")
    if action not in ("pass", "take", "request"):
        raise BadRequest("action must be pass, take or request")
    if not isinstance(metadata, str):
        raise BadRequest("metadata must be a string")
    owner, ours = await owner_of(sandbox, psid), sandbox.app_id
    event: dict[str, Any]
    if action == "pass":
        if owner != PAGE_INBOX_APP_ID:
            raise Conflict("the Page Inbox does not own this thread: nothing to pass")
        await _set_owner(sandbox, psid, ours)
        event = {"pass_thread_control": {"previous_owner_app_id": PAGE_INBOX_APP_ID, "new_owner_app_id": ours,
                                         "metadata": metadata}}
    elif action == "take":
        if owner == PAGE_INBOX_APP_ID:
            raise Conflict("the Page Inbox already owns this thread")
        await _set_owner(sandbox, psid, PAGE_INBOX_APP_ID)
        event = {"take_thread_control": {"previous_owner_app_id": ours, "new_owner_app_id": PAGE_INBOX_APP_ID,
                                         "metadata": metadata}}
    else:
        if owner == PAGE_INBOX_APP_ID:
            raise Conflict("the Page Inbox already owns this thread")
        event = {"request_thread_control": {"requested_owner_app_id": PAGE_INBOX_APP_ID, "metadata": metadata}}
    now = await sandbox.clock.now_ms()
    item = from_shopper(sandbox.page_id, psid, now, **event)
    delivery = await sandbox.webhooks.post(messaging_body(sandbox.page_id, now, [item]))
    return web.json_response({"psid": psid, "action": action, "thread_owner": await owner_of(sandbox, psid),
                              **delivery.as_json()})
