"""The aiohttp application: webhook, health, metrics, admin API, dashboard, and the sandbox in sandbox mode."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import admin, dashboard, webhook
from .appkeys import METRICS, REDIS, SETTINGS
from .metrics import AppMetrics
from .pages import PAGES, Pages
from .pipeline_gauges import Gauges, PipelineGauges
from .plugins import check_services, resolve_plugins
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger(__name__)

health_routes = web.RouteTableDef()


@health_routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """A keyed read of each Page's own keys, not a PING: a node that cannot serve a Page's slot, or
    a Redis that refuses reads, answers 503. Says whether a splitter is at work and how many bodies
    wait in the inbox (a backlog with no splitter means no worker is running); the top-level figures
    are the first Page's, ``pages`` has every Page's."""
    pages: dict[str, dict[str, object]] = {}
    for runtime in request.app[PAGES]:
        try:
            backlog, splitting = await PipelineGauges(runtime.redis, runtime.keys).health()
        except (RedisError, OSError) as exc:
            log.warning("/healthz: Redis %s for Page %s", type(exc).__name__, runtime.keys.page_id)
            return web.json_response({"status": "unavailable", "redis": type(exc).__name__,
                                      "page": runtime.keys.page_id}, status=503)
        pages[runtime.keys.page_id] = {"inbox_backlog": backlog, "splitter": splitting}
    first = next(iter(pages.values()))
    return web.json_response({"status": "ok", "redis": "ok", "sandbox": request.app[SETTINGS].sandbox,
                              **first, "pages": pages})


@health_routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; the Redis-backed counters and gauges carry a ``page`` label."""
    shared: dict[str, dict[bytes | str, bytes | str]] = {}
    gauges: dict[str, dict[str, float]] = {}
    for runtime in request.app[PAGES]:
        keys = runtime.keys
        try:
            now = await PipelineGauges(runtime.redis, keys).gauges()
        except (RedisError, OSError) as exc:
            log.warning("/metrics without Redis counters of Page %s: %s", keys.page_id, type(exc).__name__)
            now = Gauges({}, 0, 0, 0)
        shared[keys.page_id] = now.counters
        gauges[keys.page_id] = {"salebell_inbox_backlog": now.inbox_backlog,
                                "salebell_shoppers_ready": now.shoppers_ready,
                                "salebell_shoppers_leased": now.shoppers_leased}
    body = request.app[METRICS].render(shared, gauges)
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


class SafeAccessLogger(AbstractAccessLogger):
    """Access log without query strings: ``hub.verify_token`` and ``access_token`` never reach the log."""

    @property
    def enabled(self) -> bool:
        """Below INFO aiohttp skips timing and calling :meth:`log` (a cost on every webhook)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)


def create_app(settings: Settings, redis: Redis, *, runtime: Runtime | None = None, pages: Pages | None = None,
               plugins: Sequence[str] = (), run_workers: bool | None = None) -> web.Application:
    """Build the web application around an open Redis client.

    With ``run_workers`` (default: the ``WEB_RUNS_WORKERS`` setting) the app also runs
    inbox splitters and event consumers in the background, so one process is a whole bot.
    ``runtime``: the one Page's runtime, made by the caller (tests); ``pages``: every Page's.
    """
    app = web.Application(client_max_size=webhook.MAX_BODY)
    app[SETTINGS] = settings
    app[REDIS] = redis
    app[METRICS] = AppMetrics()
    if pages is None:
        pages = Pages(settings, redis, role="web", runtimes=[runtime] if runtime is not None else [])
    app[PAGES] = pages
    webhook.install_inbox_writers(app, {rt.keys.page_id: (rt.redis, rt.keys.inbox) for rt in pages})
    app.add_routes(webhook.routes)
    app.add_routes(health_routes)
    loaded = resolve_plugins(plugins)
    check_services(loaded, settings)  # before serving: a missing service stops start-up
    admin.mount(app, [p.api for p in loaded if p.api is not None])
    dashboard.mount(app, settings, redis, [p.panels for p in loaded if p.panels is not None])
    if settings.sandbox:
        from .sandbox import create_sandbox_app, mount_redirect  # noqa: PLC0415 - only in sandbox mode

        profile = next((p.messenger_profile(settings) for p in loaded if p.messenger_profile is not None), None)
        mount_redirect(app)  # before the sub-apps, whose prefix would answer /sandbox with a 404
        for n, page_id in enumerate(settings.page_ids):  # the first Page at /sandbox/, the others under pages/
            prefix = "/sandbox/" if n == 0 else f"/sandbox/pages/{page_id}/"
            app.add_subapp(prefix, create_sandbox_app(settings.for_page(page_id), redis, profile=profile))
    workers = settings.run_workers_in_web if run_workers is None else run_workers

    async def processing(app: web.Application) -> AsyncIterator[None]:
        served = app[PAGES]
        await served.load_plugins(plugins)
        if workers:
            await served.start()
        yield
        await served.stop()

    app.cleanup_ctx.append(processing)
    return app
