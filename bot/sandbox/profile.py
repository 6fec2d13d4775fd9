"""``GET/POST/DELETE me/messenger_profile`` (messenger-platform.md §7)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .context import SANDBOX
from .errors import INVALID_TOKEN, GraphRefusal, new_fbtrace_id, refusal
from .graph_api import authorized, done, parse_body, refuse

FIELDS = ("get_started", "greeting", "persistent_menu", "ice_breakers", "whitelisted_domains",
          "account_linking_url", "commands")
MENU_ITEMS_MAX = 20
ICE_BREAKERS_MAX = 4
GREETING_MAX = 160


def bad(message: str) -> GraphRefusal:
    return refusal(100, message)


def check_profile(fields: dict[str, Any], stored: dict[str, Any]) -> GraphRefusal | None:
    """Refuse what Meta refuses; ``stored`` is the profile before this call."""
    if not fields:
        return bad("Requires one of the params: " + ", ".join(FIELDS))
    for name in fields:
        if name == "home_url":
            return bad("home_url is deprecated since v7.0")
        if name not in FIELDS:
            return bad(f"param {name} is not a Messenger profile field")
    get_started = fields.get("get_started")
    if get_started is not None and not (isinstance(get_started, dict) and isinstance(get_started.get("payload"), str)
                                        and 0 < len(get_started["payload"]) <= 1000):
        return bad("param get_started must be {payload} with 1 to 1000 characters")
    checks = (("greeting", _check_greeting), ("persistent_menu", _check_menu), ("ice_breakers", _check_ice_breakers))
    for name, check in checks:
        if name in fields:
            refused = check(fields[name])
            if refused:
                return refused
    if "persistent_menu" in fields and not (fields.get("get_started") or stored.get("get_started")):
        return bad("You must set a Get Started button if you also wish to use persistent menu.")
    return None


def _locales(items: Any, name: str) -> GraphRefusal | None:
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return bad(f"param {name} must be a non-empty array of objects")
    if "default" not in [i.get("locale") for i in items]:
        return bad(f"param {name} needs an entry with locale default")
    return None


def _check_greeting(greeting: Any) -> GraphRefusal | None:
    refused = _locales(greeting, "greeting")
    if refused:
        return refused
    if any(not isinstance(g.get("text"), str) or len(g["text"]) > GREETING_MAX for g in greeting):
        return bad(f"param greeting[text] must be at most {GREETING_MAX} characters")
    return None


def _check_menu(menu: Any) -> GraphRefusal | None:
    refused = _locales(menu, "persistent_menu")
    if refused:
        return refused
    for locale in menu:
        actions = locale.get("call_to_actions", [])
        if not isinstance(actions, list) or len(actions) > MENU_ITEMS_MAX:
            return bad(f"param persistent_menu[call_to_actions] must have at most {MENU_ITEMS_MAX} items")
        for action in actions:
            kind = action.get("type") if isinstance(action, dict) else None
            if kind not in ("postback", "web_url") or not action.get("title"):
                return bad("menu items are postback or web_url buttons with a title")
            if action.get("payload" if kind == "postback" else "url") in (None, ""):
                return bad("a postback item needs a payload and a web_url item a url")
    return None


def _check_ice_breakers(breakers: Any) -> GraphRefusal | None:
    if not isinstance(breakers, list) or not all(isinstance(b, dict) for b in breakers):
        return bad("param ice_breakers must be an array of objects")
    localized = [b for b in breakers if "call_to_actions" in b]
    if localized and len(localized) != len(breakers):
        return bad("ice_breakers cannot mix the locale format and the flat format")
    groups = [b["call_to_actions"] for b in localized] if localized else [breakers]
    for group in groups:
        if not isinstance(group, list) or len(group) > ICE_BREAKERS_MAX:
            return bad(f"at most {ICE_BREAKERS_MAX} ice breakers")
        if any(not isinstance(q, dict) or not q.get("question") or not q.get("payload") for q in group):
            return bad("each ice breaker needs a question and a payload")
    return None


async def messenger_profile(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    fbtrace_id = new_fbtrace_id()
    call = parse_body(await request.read())
    body, request_json = call.body, call.recorded
    if not authorized(request, sandbox, call.body_token):
        return await refuse(sandbox, request, "profile", INVALID_TOKEN, fbtrace_id, request_json)
    stored = await sandbox.state.profile()
    if request.method == "GET":
        wanted = [f for f in request.query.get("fields", "").split(",") if f] or list(stored)
        found = {f: stored[f] for f in wanted if f in stored}
        return await done(sandbox, request, "profile", {"data": [found] if found else []}, request_json)
    if not isinstance(body, dict):
        return await refuse(sandbox, request, "profile", bad("The body must be a JSON object"), fbtrace_id,
                            request_json)
    if request.method == "DELETE":
        names = body.get("fields")
        if not isinstance(names, list) or not names or any(n not in FIELDS for n in names):
            return await refuse(sandbox, request, "profile", bad("param fields must name profile fields"),
                                fbtrace_id, request_json)
        await sandbox.state.delete_profile(names)
        return await done(sandbox, request, "profile", {"result": "success"}, request_json)
    refused = check_profile(body, stored)
    if refused:
        return await refuse(sandbox, request, "profile", refused, fbtrace_id, request_json)
    await sandbox.state.set_profile(body)
    return await done(sandbox, request, "profile", {"result": "success"}, request_json)

