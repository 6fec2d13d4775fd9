"""Graph reads: ``GET /{id}`` for a live video (§2.10), a post or a shopper (User Profile API),
``/{page-id}/subscribed_apps`` (§1.1: install the app with its webhook fields, list them) and
``/{ig-user-id}/live_media`` (the Instagram account's live videos being broadcast, issue 15)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from .context import SANDBOX, Sandbox
from .errors import INVALID_TOKEN, UNKNOWN_OBJECT, new_fbtrace_id
from .graph_api import authorized, done, refuse

DEFAULT_FIELDS = ("id", "status", "title", "description", "permalink_url")


def iso_time(ms: int) -> str:
    """Graph's time format, to the second: ``2026-12-01T10:29:59+0000``."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


async def _describe(sandbox: Sandbox, object_id: str) -> dict[str, Any] | None:
    video = await sandbox.state.live_video(object_id)
    if video:
        return {"id": object_id, "status": video["status"], "title": video["title"],
                "description": video["title"], "creation_time": iso_time(int(video["created_ms"])),
                "permalink_url": f"https://www.facebook.com/{sandbox.page_id}/videos/{object_id}/"}
    post = await sandbox.state.post(object_id)
    if post:
        return {"id": object_id, "message": post["message"], "created_time": iso_time(int(post["created_ms"])),
                "permalink_url": f"https://www.facebook.com/{object_id.replace('_', '/posts/')}"}
    shopper = await sandbox.state.shopper(object_id)
    if shopper:
        first, _, last = shopper["name"].partition(" ")
        return {"id": object_id, "name": shopper["name"], "first_name": first, "last_name": last,
                "profile_pic": f"https://sandbox.invalid/pic/{object_id}.png",
                "locale": shopper.get("locale") or "en_US"}
    return None


async def get_object(request: web.Request) -> web.Response:
    """``GET /{id}?fields=...``: only the fields asked for (plus ``id``)."""
    sandbox = request.app[SANDBOX]
    if not authorized(request, sandbox):
        return await refuse(sandbox, request, "read", INVALID_TOKEN, new_fbtrace_id())
    found = await _describe(sandbox, request.match_info["object_id"])
    if found is None:
        return await refuse(sandbox, request, "read", UNKNOWN_OBJECT, new_fbtrace_id())
    wanted = [f for f in request.query.get("fields", "").split(",") if f] or list(DEFAULT_FIELDS)
    return await done(sandbox, request, "read", {k: v for k, v in found.items() if k in wanted or k == "id"})


async def live_media(request: web.Request) -> web.Response:
    """``GET /{ig-user-id}/live_media``: ``{"data": [{"id": <media id>}, ...]}``, only the live videos being
    broadcast at the time of the request, as Meta documents it [C] (an ended one is not listed)."""
    sandbox = request.app[SANDBOX]
    if not authorized(request, sandbox):
        return await refuse(sandbox, request, "read", INVALID_TOKEN, new_fbtrace_id())
    if not sandbox.settings.instagram_account_id or request.match_info["node"] != sandbox.settings.instagram_account_id:
        return await refuse(sandbox, request, "read", UNKNOWN_OBJECT, new_fbtrace_id())
    media = await sandbox.state.instagram_lives_now()
    return await done(sandbox, request, "read", {"data": [{"id": m} for m in media]})


async def subscribed_apps(request: web.Request) -> web.Response:
    """``POST /{page-id}/subscribed_apps?subscribed_fields=a,b`` installs the app on the Page with those
    webhook fields (§1.1, ``{"success": true}``); ``GET`` lists the app with its ``subscribed_fields``."""
    sandbox = request.app[SANDBOX]
    if not authorized(request, sandbox):
        return await refuse(sandbox, request, "subscribe", INVALID_TOKEN, new_fbtrace_id())
    if request.match_info["node"] not in ("me", sandbox.page_id):
        return await refuse(sandbox, request, "subscribe", UNKNOWN_OBJECT, new_fbtrace_id())
    if request.method == "POST":
        fields = [f for f in request.query.get("subscribed_fields", "").split(",") if f]
        await sandbox.state.set_subscribed_fields(fields)
        return await done(sandbox, request, "subscribe", {"success": True})
    fields = await sandbox.state.subscribed_fields()
    apps = [{"id": sandbox.settings.app_id, "name": "salebell", "subscribed_fields": fields}] if fields else []
    return await done(sandbox, request, "read", {"data": apps})
