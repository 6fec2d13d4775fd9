"""The Graph routes of utility message templates, and the sandbox's review switch (messenger-platform.md §3.3, §9).

- ``GET /{page-id}/message_templates``: the Page's templates (``{"data": [...]}``);
- ``POST /{page-id}/message_templates``: create one (shape [U], ``bot/graph/utility.py``); it is
  APPROVED at once ("within seconds") and the ``message_template_status_update`` webhook follows;
- ``GET /message_template_library?search=&language=``: Meta's pre-approved order-update templates;
- ``POST /sandbox/message-templates/{name}/status`` ``{"status": "REJECTED"}``: play Meta's review
  changing its mind; the webhook follows.

Both Page routes need the ``page_utility_messaging`` permission (sandbox config switch of that
name, on by default); without it they answer Graph's permission error.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .context import SANDBOX, Sandbox, read_json, required_text
from .errors import INVALID_TOKEN, UNKNOWN_OBJECT, BadRequest, GraphRefusal, NotFound, new_fbtrace_id
from .graph_api import authorized, done, parse_body, refuse
from .message_templates import NO_PERMISSION, TEMPLATE_EXISTS, check_new_template, library
from .webhooks import changes_body

STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
FIELD = "message_template_status_update"


def _public(template: dict[str, Any]) -> dict[str, Any]:
    """A template as Graph lists it [U]: its body as a BODY component."""
    return {"id": template["id"], "name": template["name"], "language": template["language"],
            "status": template["status"], "category": template["category"],
            "components": [{"type": "BODY", "text": template["body"]}]}


async def page_templates(request: web.Request) -> web.Response:
    """``GET`` lists, ``POST`` creates (then the status webhook)."""
    sandbox = request.app[SANDBOX]
    call = parse_body(await request.read())
    if not authorized(request, sandbox, call.body_token):
        return await refuse(sandbox, request, "templates", INVALID_TOKEN, new_fbtrace_id())
    if request.match_info["node"] not in ("me", sandbox.page_id):
        return await refuse(sandbox, request, "templates", UNKNOWN_OBJECT, new_fbtrace_id())
    if not (await sandbox.ledger.config())["page_utility_messaging"]:
        return await refuse(sandbox, request, "templates", NO_PERMISSION, new_fbtrace_id())
    if request.method == "GET":
        return await done(sandbox, request, "templates", {"data": [_public(t) for t in await sandbox.templates.all()]})
    new = check_new_template(call.body)
    if isinstance(new, GraphRefusal):
        return await refuse(sandbox, request, "templates", new, new_fbtrace_id(), call.recorded)
    created = await sandbox.templates.create(new)
    if created is None:
        return await refuse(sandbox, request, "templates", TEMPLATE_EXISTS, new_fbtrace_id(), call.recorded)
    await _status_webhook(sandbox, created)
    return await done(sandbox, request, "templates", {"id": created["id"], "status": created["status"],
                                                      "category": created["category"]}, call.recorded)


async def template_library(request: web.Request) -> web.Response:
    """``GET /message_template_library``: Meta's templates (any token of the app may read them)."""
    sandbox = request.app[SANDBOX]
    if not authorized(request, sandbox):
        return await refuse(sandbox, request, "templates", INVALID_TOKEN, new_fbtrace_id())
    found = library(request.query.get("search", ""), request.query.get("language", ""))
    return await done(sandbox, request, "templates", {"data": found})


async def review(request: web.Request) -> web.Response:
    """The sandbox's reviewer changes a template's status; Meta's webhook tells the bot."""
    sandbox = request.app[SANDBOX]
    status = required_text(await read_json(request), "status").upper()
    if status not in STATUSES:
        raise BadRequest("status must be one of " + ", ".join(STATUSES))
    changed = await sandbox.templates.set_status(request.match_info["name"], status)
    if not changed:
        raise NotFound(f"no template named {request.match_info['name']!r}")
    deliveries = [await _status_webhook(sandbox, t) for t in changed]
    return web.json_response({"templates": [_public(t) for t in changed],
                              **(deliveries[-1].as_json() if deliveries else {})})


async def _status_webhook(sandbox: Sandbox, template: dict[str, Any]) -> Any:
    value = {"event": template["status"], "message_template_id": template["id"],
             "message_template_name": template["name"], "message_template_language": template["language"],
             "reason": "NONE" if template["status"] == "APPROVED" else "SANDBOX_REVIEW"}
    return await sandbox.webhooks.post(changes_body(sandbox.page_id, await sandbox.clock.now_ms(), FIELD, value))
