"""``/dashboard/``: sign-in and sign-out, the shell with every registered panel, and their static files.

Routes (all under the root app, beside the admin API they drive):

=========================================  ==================================================
``GET /dashboard``                         redirects to ``/dashboard/``
``GET /dashboard/``                        the shell (signed in) or a redirect to the sign-in
``GET /dashboard/sign-in``                 the sign-in form
``POST /dashboard/sign-in``                form field ``token``: 303 with the session cookie, or 401
``POST /dashboard/sign-out``               form field ``csrf``: the session is deleted
``GET /dashboard/static/{name}``           the shell's own CSS and JS
``GET /dashboard/panels/{panel}/{name}``   a panel's files, from the package that ships them
=========================================  ==================================================
"""

from __future__ import annotations

import hmac
import logging
from importlib import resources
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from ..appkeys import SETTINGS
from . import pages
from .panels import ASSET_NAME, Panels
from .sessions import SESSIONS, Session, clear_cookie, session_of, set_cookie

log = logging.getLogger(__name__)

PANELS = web.AppKey("dashboard_panels", Panels)
TOKEN_MAX = 512
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
                 ".png": "image/png", ".json": "application/json"}

routes = web.RouteTableDef()


def _secure(request: web.Request) -> bool:
    """Cookies are Secure outside sandbox mode (and over https in sandbox mode too)."""
    return not request.app[SETTINGS].sandbox


@routes.get("/dashboard")
async def no_slash(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/dashboard/")


@routes.get("/dashboard/")
async def shell(request: web.Request) -> web.StreamResponse:
    try:
        session = await session_of(request)
    except (RedisError, OSError) as exc:
        return _unavailable(exc)
    if session is None:
        raise web.HTTPSeeOther("/dashboard/sign-in")
    settings = request.app[SETTINGS]
    served = settings.page_ids
    page_id = request.query.get("page", "")
    if not page_id and len(served) > 1:  # the panels read one Page's data: name the first
        raise web.HTTPSeeOther(f"/dashboard/?page={served[0]}")
    if page_id and page_id not in served:
        return pages.message_page("Page not served", f"This deployment does not serve Page {page_id}.", 404)
    sections = []
    for panel in request.app[PANELS].ordered():
        module = f"/dashboard/panels/{panel.id}/{panel.module}" if panel.module else ""
        sections.append((panel.id, panel.title, module, await _inner(panel, request)))
    shown = page_id or served[0]
    return pages.html_response(pages.shell_page(csrf=session.csrf, page_id=shown, page_ids=served,
                                                timezone=settings.for_page(shown).shop_timezone,
                                                sandbox=settings.sandbox, sections=sections))


async def _inner(panel: Any, request: web.Request) -> str:
    """A panel's server-side HTML: its render function, else its fragment, else a line for readers without JS."""
    try:
        if panel.render is not None:
            return str(await panel.render(request))
        if panel.fragment is not None:
            return (panel.asset(panel.fragment) or b"").decode()
    except Exception:  # one panel's failure must not take the dashboard down
        log.exception("dashboard panel %s could not be rendered", panel.id)
        return "<p class=\"alert\">This panel could not be shown; the server log says why.</p>"
    return "<p class=\"nojs\">Loading… (this panel needs JavaScript)</p>"


@routes.get("/dashboard/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    try:
        if await session_of(request) is not None:
            raise web.HTTPSeeOther("/dashboard/")
    except (RedisError, OSError):
        pass  # the form still shows; signing in will say that Redis is unavailable
    return pages.html_response(pages.sign_in_page(sandbox=request.app[SETTINGS].sandbox))


@routes.post("/dashboard/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    token = form.get("token")
    expected = settings.admin_token.reveal().encode()
    offered = token.encode("utf-8", "surrogateescape") if isinstance(token, str) else b""
    if not expected or not offered or len(offered) > TOKEN_MAX or not hmac.compare_digest(offered.strip(), expected):
        log.info("dashboard sign-in refused (wrong or missing token) from %s", request.remote)
        return pages.html_response(pages.sign_in_page(error="That is not the admin token of this deployment.",
                                                      sandbox=settings.sandbox), status=401)
    try:
        session_id, _ = await request.app[SESSIONS].create()
    except (RedisError, OSError) as exc:
        return _unavailable(exc)
    log.info("dashboard sign-in from %s", request.remote)
    response = web.HTTPSeeOther("/dashboard/")
    set_cookie(response, request, session_id, secure=_secure(request), max_age=request.app[SESSIONS].ttl_seconds)
    raise response


@routes.post("/dashboard/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    try:
        session = await session_of(request)
    except (RedisError, OSError) as exc:
        return _unavailable(exc)
    if session is not None:
        form = await request.post()
        offered = form.get("csrf")
        if not session.csrf_matches(offered if isinstance(offered, str) else request.headers.get("X-CSRF-Token")):
            return pages.message_page("Not signed out", "The form is out of date (its CSRF token does not match "
                                      "this session); reload the dashboard and sign out again.", 403)
        await _forget(request, session)
    response = web.HTTPSeeOther("/dashboard/sign-in")
    clear_cookie(response, request, secure=_secure(request))
    raise response


async def _forget(request: web.Request, session: Session) -> None:
    await request.app[SESSIONS].delete(session)
    log.info("dashboard sign-out from %s", request.remote)


def _unavailable(exc: BaseException) -> web.Response:
    log.warning("dashboard: Redis %s", type(exc).__name__)
    return pages.message_page("Unavailable", "The dashboard cannot reach Redis right now; try again shortly.", 503)


def _file(data: bytes | None, name: str) -> web.Response:
    if data is None:
        raise web.HTTPNotFound(text="no such file")
    suffix = name[name.rfind("."):]
    return web.Response(body=data, content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@routes.get("/dashboard/static/{name}")
async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not ASSET_NAME.match(name):
        raise web.HTTPNotFound(text="no such file")
    path = resources.files(__package__).joinpath("static", name)
    return _file(path.read_bytes() if path.is_file() else None, name)


@routes.get("/dashboard/panels/{panel}/{name}")
async def panel_file(request: web.Request) -> web.Response:
    panel = request.app[PANELS].get(request.match_info["panel"])
    name = request.match_info["name"]
    return _file(panel.asset(name) if panel is not None else None, name)
