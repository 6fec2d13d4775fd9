"""The admin API under ``/api/``: bearer auth, JSON errors, and an OpenAPI document built from the routes.

Layers add routes by declaring an :class:`AdminApi` named ``api`` in a plugin
module (``SALEBELL_PLUGINS``); the app mounts them behind ``Authorization:
Bearer <ADMIN_TOKEN>``. Every route is declared with its summary and schemas, so
``GET /api/openapi.json`` describes exactly the routes that exist::

    api = AdminApi()

    @api.route("POST", "/api/live-sales", "Create a live sale", body=LIVE_SALE_IN, status=201)
    async def create(request: web.Request) -> web.Response: ...

Errors are JSON ``{"error": {"status", "message"}}`` with 400 (bad JSON), 401 (no or
wrong token), 403 (a dashboard session's change without its CSRF token), 404, 409
(state conflict) and 422 (a field is missing or wrong).

Two ways in: ``Authorization: Bearer <ADMIN_TOKEN>`` (scripts, the CLI), or the
dashboard's session cookie (:mod:`bot.dashboard.sessions`). With the cookie, every
POST, PUT, PATCH and DELETE must also carry the session's CSRF token in
``X-CSRF-Token``; a request with an ``Authorization`` header is judged by it alone.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from .appkeys import SETTINGS
from .backoff import Outage
from .dashboard.sessions import CSRF_HEADER, has_session_cookie, session_of
from .errors import ApiError
from .json_input import NotJson, load_json
from .signature import header_bytes

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def invalid(message: str) -> ApiError:
    return ApiError(422, message)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400/422 with the reason."""
    try:
        body = load_json(await request.read() or b"{}")
    except NotJson as exc:
        log.info("admin API %s %s: body refused: %s", request.method, request.path, exc)
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body must be a JSON object")
    return body


def field_of(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True,
             default: Any = None) -> Any:
    """``body[name]`` checked against ``kind``; 422 when missing (if required) or of the wrong type."""
    if name not in body or body[name] is None:
        if required:
            raise invalid(f"{name} is required")
        return default
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise invalid(f"{name} must be {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    body: Schema | None
    status: int
    response: Schema | None
    query: tuple[tuple[str, str, bool], ...]


@dataclass
class AdminApi:
    """A set of admin routes with their OpenAPI description."""

    routes: web.RouteTableDef = field(default_factory=web.RouteTableDef)
    operations: list[Operation] = field(default_factory=list)

    def route(self, method: str, path: str, summary: str, *, body: Schema | None = None, status: int = 200,
              response: Schema | None = None, query: tuple[tuple[str, str, bool], ...] = ()
              ) -> Callable[[Handler], Handler]:
        """Declare a route; ``query`` lists ``(name, type, required)``."""
        if not path.startswith("/api/"):
            raise ValueError(f"admin routes live under /api/, not {path}")

        def register(handler: Handler) -> Handler:
            self.routes.route(method, path)(handler)
            self.operations.append(Operation(method.upper(), path, summary, body, status, response, query))
            return handler

        return register

    def include(self, other: AdminApi) -> None:
        for route_def in other.routes:  # RouteTableDef has no extend(); re-declare each route
            if isinstance(route_def, web.RouteDef):
                self.routes.route(route_def.method, route_def.path, **route_def.kwargs)(route_def.handler)
        self.operations.extend(other.operations)


def openapi_document(operations: list[Operation]) -> dict[str, Any]:
    error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "status": {"type": "integer"}, "message": {"type": "string"}}}}}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item: dict[str, Any] = {"summary": op.summary, "responses": {
            str(op.status): {"description": "OK", "content": {"application/json": {"schema": op.response or
                                                                                   {"type": "object"}}}},
            "401": {"description": "missing or wrong bearer token, or no live dashboard session",
                    "content": {"application/json": {"schema": error}}},
        }}
        if op.method in STATE_CHANGING:
            item["responses"]["403"] = {"description": "a dashboard session without its X-CSRF-Token",
                                        "content": {"application/json": {"schema": error}}}
        for status, what in ((400, "bad JSON"), (404, "not found"), (409, "conflict"), (422, "invalid field")):
            item["responses"][str(status)] = {"description": what, "content": {"application/json": {"schema": error}}}
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        params = [{"name": n, "in": "query", "required": r, "schema": {"type": t}} for n, t, r in op.query]
        params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in op.path.split("/") if p.startswith("{")] + params
        params.append({"name": "page", "in": "query", "required": False, "schema": {"type": "string"},
                       "description": "the Page, by id; needed when the deployment serves several"})
        item["parameters"] = params
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.0.3",
        "info": {"title": "salebell admin API", "version": "1"},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "salebell_session",
                        "description": "the dashboard's session (sign in at /dashboard/); state-changing "
                                       f"calls also need the session's {CSRF_HEADER} header"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


ADMIN_OUTAGE = web.AppKey("admin_redis_outage", Outage)


@web.middleware
async def admin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer or session auth and JSON errors for everything under /api/ (the OpenAPI document is public).

    Redis not answering is a 503 with the reason and ``Retry-After``, logged once per outage (was a 500)."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        if request.path != "/api/openapi.json":
            await _authorize(request)
        response = await handler(request)
    except (RedisError, OSError) as exc:
        request.app[ADMIN_OUTAGE].failed(exc)
        return web.json_response({"error": {"status": 503, "message": f"storage unavailable (Redis "
                                            f"{type(exc).__name__}); try again shortly"}},
                                 status=503, headers={"Retry-After": "1"})
    except ApiError as exc:
        if exc.status >= 500:
            log.error("admin API %s %s: %s", request.method, request.path, exc.message)
        return web.json_response({"error": {"status": exc.status, "message": exc.message}}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"error": {"status": exc.status, "message": exc.reason}}, status=exc.status)
    request.app[ADMIN_OUTAGE].recovered()
    return response


async def _authorize(request: web.Request) -> None:
    """The bearer token if the request has an ``Authorization`` header, else the dashboard session and,
    for a change, its CSRF token."""
    if "Authorization" in request.headers or not has_session_cookie(request):
        _check_token(request)
        return
    try:
        session = await session_of(request)
    except (RedisError, OSError) as exc:
        log.warning("admin API %s %s: session lookup failed: Redis %s", request.method, request.path,
                    type(exc).__name__)
        raise ApiError(503, "storage unavailable; try again shortly") from None
    if session is None:
        raise ApiError(401, "the dashboard session has ended (signed out or expired); sign in again at /dashboard/")
    if request.method in STATE_CHANGING and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        log.info("admin API %s %s refused: session without a matching %s", request.method, request.path,
                 CSRF_HEADER)
        raise ApiError(403, f"missing or wrong {CSRF_HEADER} header: a change made with the dashboard session "
                            "must carry the CSRF token of its page")


def _check_token(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = request.app[SETTINGS].admin_token.reveal()
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(header_bytes(token.strip()),
                                                                          expected.encode()):
        raise ApiError(401, "missing or wrong bearer token")


def mount(app: web.Application, apis: list[AdminApi]) -> None:
    """Add every admin route and ``/api/openapi.json`` to the app."""
    combined = AdminApi()
    for api in apis:
        combined.include(api)
    document = openapi_document(combined.operations)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app[ADMIN_OUTAGE] = Outage(log, "admin API")
    app.router.add_get("/api/openapi.json", openapi)
    app.add_routes(combined.routes)
    app.middlewares.append(admin_middleware)
