"""The admin API under ``/api/``: bearer auth, JSON errors, and an OpenAPI document built from the routes.

Layers add routes by declaring an :class:`AdminApi` named ``api`` in a plugin
module (``SALEBELL_PLUGINS``); the app mounts them behind ``Authorization:
Bearer <ADMIN_TOKEN>``. Every route is declared with its summary and schemas, so
``GET /api/openapi.json`` describes exactly the routes that exist::

    api = AdminApi()

    @api.route("POST", "/api/live-sales", "Create a live sale", body=LIVE_SALE_IN, status=201)
    async def create(request: web.Request) -> web.Response: ...

Errors are JSON ``{"error": {"status", "message"}}`` with 400 (bad JSON), 401 (no or
wrong token), 403 (a dashboard session's change without its CSRF token), 404, 405 (with
``Allow``), 409 (state conflict), 422 (a field is missing or wrong; ``field`` and ``rule``
say which, when a declared schema refused it) and 503 (Redis not answering).

One source: the schemas a route declares (``body``, ``query``, ``params``; the subset of
:mod:`bot.schema_check`) validate the request before its handler runs, and are what the
OpenAPI document shows. Request bodies are closed: an undeclared field is a 422 ("unknown
field schedule_at"), never silently ignored. Handlers check only what a schema cannot say
(one field depending on another, the state of a sale).

Two ways in: ``Authorization: Bearer <ADMIN_TOKEN>`` (scripts, the CLI), or the
dashboard's session cookie (:mod:`bot.dashboard.sessions`). With the cookie, every
POST, PUT, PATCH and DELETE must also carry the session's CSRF token in
``X-CSRF-Token``; a request with an ``Authorization`` header is judged by it alone.
"""

from __future__ import annotations

import hmac
import logging
import re
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
from .openapi import STATE_CHANGING, openapi_document
from .schema_check import SchemaViolation, closed, normalised, types_of, unsupported_keywords, violation
from .signature import header_bytes

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]


class InvalidField(ApiError):
    """A 422 from a declared schema: the answer names the ``field`` and the ``rule`` it breaks."""

    def __init__(self, problem: SchemaViolation) -> None:
        super().__init__(422, problem.message)
        self.field = problem.field
        self.rule = problem.rule


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


Query = tuple[tuple[str, "str | Schema", bool], ...]


@dataclass(frozen=True)
class Operation:
    """A declared route; ``body`` (closed), ``query`` and ``params`` are normalised schemas."""

    method: str
    path: str
    summary: str
    body: Schema | None
    status: int
    response: Schema | None
    query: tuple[tuple[str, Schema, bool], ...]
    params: dict[str, Schema]
    other_media: dict[str, Schema] = field(default_factory=dict)

    def check(self, request: web.Request, body: Any) -> None:
        """422 (:class:`InvalidField`) for the first path parameter, query parameter or body field that
        breaks its schema."""
        for name, schema in self.params.items():
            _refuse(violation(schema, request.match_info.get(name, ""), name))
        for name, schema, required in self.query:
            if name not in request.query:
                if required:
                    _refuse(SchemaViolation(name, "required", f"{name} is required (?{name}=...)"))
                continue
            raw = request.query.getall(name) if types_of(schema) == ["array"] else request.query[name]
            _refuse(violation(schema, _from_query(schema, raw), name))
        if self.body is not None:
            _refuse(violation(self.body, body))


def _refuse(problem: SchemaViolation | None) -> None:
    if problem is not None:
        raise InvalidField(problem)


def _from_query(schema: Schema, raw: Any) -> Any:
    """A query string's text as the JSON value its schema's type names (left as text when it is not one)."""
    if isinstance(raw, list):
        return [_from_query(schema.get("items", {}), item) for item in raw]
    kinds = types_of(schema)
    if ("integer" in kinds or "number" in kinds) and re.fullmatch(r"-?\d{1,18}", raw):
        return int(raw)
    if "number" in kinds:
        try:
            return float(raw)
        except ValueError:
            return raw
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    return raw


def _query_schema(kind: str | Schema) -> Schema:
    return normalised(kind if isinstance(kind, dict) else {"type": kind})


@dataclass
class AdminApi:
    """A set of admin routes with their OpenAPI description."""

    routes: web.RouteTableDef = field(default_factory=web.RouteTableDef)
    operations: list[Operation] = field(default_factory=list)

    def route(self, method: str, path: str, summary: str, *, body: Schema | None = None, status: int = 200,
              response: Schema | None = None, query: Query = (), params: dict[str, Schema] | None = None,
              other_media: dict[str, Schema] | None = None) -> Callable[[Handler], Handler]:
        """Declare a route whose request is checked against its schemas before ``handler`` runs.

        ``body``: the JSON body's schema (closed: undeclared fields are refused); ``query`` lists
        ``(name, type or schema, required)``; ``params``: schemas of path parameters (``{id}``), strings
        otherwise; ``other_media``: success answers in other media types (``text/csv``). A schema keyword
        outside :mod:`bot.schema_check`'s subset is a ValueError here."""
        if not path.startswith("/api/"):
            raise ValueError(f"admin routes live under /api/, not {path}")
        declared = [("body", body or {})] + [(f"query {n}", q) for n, q, _ in query if isinstance(q, dict)]
        declared += [(f"path {n}", p) for n, p in (params or {}).items()]
        for where, schema in declared:
            if unsupported := unsupported_keywords(schema):
                raise ValueError(f"{method} {path} {where}: schema keywords not checked: {', '.join(unsupported)}")
        operation = Operation(method.upper(), path, summary, closed(normalised(body)) if body is not None else None,
                              status, normalised(response) if response is not None else None,
                              tuple((n, _query_schema(q), r) for n, q, r in query),
                              {n: normalised({"type": "string", **p}) for n, p in (params or {}).items()},
                              dict(other_media or {}))

        def register(handler: Handler) -> Handler:
            async def checked(request: web.Request) -> web.StreamResponse:
                operation.check(request, await read_json(request) if operation.body is not None else None)
                return await handler(request)

            checked.__doc__, checked.__name__ = handler.__doc__, handler.__name__
            self.routes.route(method, path)(checked)
            self.operations.append(operation)
            return handler

        return register

    def include(self, other: AdminApi) -> None:
        for route_def in other.routes:  # RouteTableDef has no extend(); re-declare each route
            if isinstance(route_def, web.RouteDef):
                self.routes.route(route_def.method, route_def.path, **route_def.kwargs)(route_def.handler)
        self.operations.extend(other.operations)


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
    except InvalidField as exc:
        return web.json_response({"error": {"status": 422, "message": exc.message, "field": exc.field,
                                            "rule": exc.rule}}, status=422)
    except ApiError as exc:
        if exc.status >= 500:
            log.error("admin API %s %s: %s", request.method, request.path, exc.message)
        return web.json_response({"error": {"status": exc.status, "message": exc.message}}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
        return web.json_response({"error": {"status": exc.status, "message": exc.reason}}, status=exc.status,
                                 headers=kept)  # a 405 keeps its Allow (RFC 9110 section 15.5.6)
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
