"""Admin routes of the Page's utility message templates (messenger-platform.md §3.3, §9).

- ``POST /api/utility-templates/sync``: make sure the Page holds one approved template per order
  status (:func:`bot.utility_templates.sync_templates`): lists them, creates the missing ones,
  records ids and statuses; answers what it found and created;
- ``GET /api/utility-templates``: the recorded templates with their statuses, and which order
  statuses have none approved (their updates outside the window are skipped
  ``template_not_approved`` while ``UTILITY_MESSAGES_ENABLED``).

Meta refusing (no ``page_utility_messaging`` permission, a refused body) is a 409 with Meta's
message; Meta unreachable is a 503.
"""

from __future__ import annotations

from aiohttp import web

from bot.admin import AdminApi, conflict
from bot.errors import ApiError
from bot.graph import GraphError, GraphNetworkError, GraphTransient
from bot.pages import page_runtime
from bot.utility_templates import TemplateStore, sync_templates

from .order_templates import order_template_specs

api = AdminApi()

_TEMPLATE = {"type": "object", "properties": {
    "name": {"type": "string"}, "id": {"type": "string"}, "language": {"type": "string"},
    "status": {"type": "string", "description": "Meta's review status: APPROVED, PENDING, REJECTED, ..."}}}
SYNC_OUT = {"type": "object", "properties": {
    "existing": {"type": "array", "items": _TEMPLATE}, "created": {"type": "array", "items": _TEMPLATE},
    "approved": {"type": "boolean", "description": "every template the order updates need is APPROVED"}}}
LIST_OUT = {"type": "object", "properties": {
    "enabled": {"type": "boolean", "description": "UTILITY_MESSAGES_ENABLED"},
    "templates": {"type": "array", "items": _TEMPLATE},
    "missing": {"type": "array", "items": {"type": "string"},
                "description": "templates the order updates need that are not APPROVED (or not synced)"}}}


@api.route("POST", "/api/utility-templates/sync", "Create the Page's missing utility templates (one per order "
           "status) and record every template's id and status", response=SYNC_OUT)
async def sync(request: web.Request) -> web.Response:
    runtime = page_runtime(request)
    await runtime.open()  # the Graph client (the send worker it also makes is not started here)
    assert runtime.graph is not None
    try:
        report = await sync_templates(runtime.graph, TemplateStore(runtime.redis, runtime.keys),
                                      runtime.settings.page_id, order_template_specs())
    except (GraphNetworkError, GraphTransient) as exc:
        raise ApiError(503, f"Meta could not be reached to sync the templates ({exc.reason}); try again") from None
    except GraphError as exc:
        raise conflict(f"Meta refused the template sync: {exc.message or exc.reason}") from None
    return web.json_response(report.as_json())


@api.route("GET", "/api/utility-templates", "The Page's utility templates as last recorded, and those the order "
           "updates need that are not approved", response=LIST_OUT)
async def list_templates(request: web.Request) -> web.Response:
    runtime = page_runtime(request)
    known = await TemplateStore(runtime.redis, runtime.keys).all()
    approved = {t.name for t in known if t.approved}
    missing = [spec.name for spec in order_template_specs() if spec.name not in approved]
    return web.json_response({"enabled": runtime.settings.utility_messages_enabled,
                              "templates": [t.as_json() for t in known], "missing": missing})
