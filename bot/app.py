"""The aiohttp application: webhook, health, metrics, admin API, dashboard, and the sandbox in sandbox mode."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import admin, dashboard, webhook
from .appkeys import CLOCK, KEYS, METRICS, REDIS, RUNTIME, SETTINGS
from .clock import Clock
from .keys import Keys
from .metrics import AppMetrics
from .plugins import check_services, resolve_plugins
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger(__name__)

health_routes = web.RouteTableDef()


@health_routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """A keyed read of the Page's own keys, not a PING: a node that cannot serve the Page's slot, or
    a Redis that refuses reads, answers 503. Says whether a splitter is at work and how many bodies
    wait in the inbox (a backlog with no splitter means no worker is running)."""
    redis, keys = request.app[REDIS], request.app[KEYS]
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.inbox)
            pipe.exists(keys.splitter_lease)
            backlog, splitting = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("/healthz: Redis %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "redis": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", "redis": "ok", "sandbox": request.app[SETTINGS].sandbox,
                              "inbox_backlog": int(backlog), "splitter": bool(splitting)})


@health_routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    redis, keys = request.app[REDIS], request.app[KEYS]
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.counters)
            pipe.xlen(keys.inbox)
            pipe.zcard(keys.ready)
            pipe.zcard(keys.leases)
            shared, inbox, ready, leased = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("/metrics without Redis counters: %s", type(exc).__name__)
        shared, inbox, ready, leased = {}, 0, 0, 0
    body = request.app[METRICS].render(shared, {
        "salebell_inbox_backlog": inbox, "salebell_shoppers_ready": ready, "salebell_shoppers_leased": leased,
    })
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


class SafeAccessLogger(AbstractAccessLogger):
    """Access log without query strings: ``hub.verify_token`` and ``access_token`` never reach the log."""

    @property
    def enabled(self) -> bool:
        """Below INFO aiohttp skips timing and calling :meth:`log` (a cost on every webhook)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)


def create_app(settings: Settings, redis: Redis, *, runtime: Runtime | None = None,
               plugins: Sequence[str] = (), run_workers: bool | None = None) -> web.Application:
    """Build the web application around an open Redis client.

    With ``run_workers`` (default: the ``WEB_RUNS_WORKERS`` setting) the app also runs
    inbox splitters and event consumers in the background, so one process is a whole bot.
    """
    app = web.Application(client_max_size=webhook.MAX_BODY)
    keys = Keys(settings.page_id)
    app[SETTINGS] = settings
    app[REDIS] = redis
    app[KEYS] = keys
    app[CLOCK] = Clock(redis, keys)
    app[METRICS] = AppMetrics()
    app[RUNTIME] = runtime or Runtime(settings, redis, role="web")
    webhook.install_inbox_writer(app, redis, keys.inbox)
    app.add_routes(webhook.routes)
    app.add_routes(health_routes)
    loaded = resolve_plugins(plugins)
    check_services(loaded, settings)  # before serving: a missing service stops start-up
    admin.mount(app, [p.api for p in loaded if p.api is not None])
    dashboard.mount(app, settings, redis, [p.panels for p in loaded if p.panels is not None])
    if settings.sandbox:
        from .sandbox import create_sandbox_app, mount_redirect  # noqa: PLC0415 - only in sandbox mode

        profile = next((p.messenger_profile(settings) for p in loaded if p.messenger_profile is not None), None)
        mount_redirect(app)  # before the sub-app, whose prefix would answer /sandbox with a 404
        app.add_subapp("/sandbox/", create_sandbox_app(settings, redis, profile=profile))
    workers = settings.run_workers_in_web if run_workers is None else run_workers

    async def processing(app: web.Application) -> AsyncIterator[None]:
        rt = app[RUNTIME]
        await rt.load_plugins(plugins)
        if workers:
            await rt.start()
        yield
        await rt.stop()

    app.cleanup_ctx.append(processing)
    return app
