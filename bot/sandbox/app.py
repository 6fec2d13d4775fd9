"""The sandbox application: a stand-in for Meta, mounted at ``/sandbox/`` or run alone.

Mounted (``app.add_subapp("/sandbox/", create_sandbox_app(settings, redis))``)
its routes answer under ``/sandbox/``. Run alone, the same routes answer both
at the root and under ``/sandbox/``, so ``GRAPH_API_URL=http://host:port/sandbox/graph``
works either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..backoff import Outage
from ..clock import Clock
from ..keys import Keys
from ..settings import Settings
from . import admin, conversations, graph_api, graph_objects, handover, posts, profile, shoppers, stories, templates_api
from .context import SANDBOX, Sandbox
from .errors import SandboxError
from .faults import Faults
from .ledger import Ledger
from .message_templates import TemplateBook
from .receipts import INTERVAL_SECONDS, ReceiptPump
from .state import SandboxState
from .webhooks import WebhookSender

log = logging.getLogger(__name__)

PUMP_STOP_SECONDS = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CHAT_PAGE = web.AppKey("chat_page", bytes)
PAGE_INBOX = web.AppKey("page_inbox", bytes)
RECEIPT_INTERVAL = web.AppKey("receipt_interval", float)
START_PROFILE = web.AppKey("start_profile", dict)
REDIS_OUTAGE = web.AppKey("redis_outage", Outage)


async def chat_page(request: web.Request) -> web.Response:
    """A Messenger-like page to play a shopper by hand (it uses the shopper API below)."""
    return web.Response(body=request.app[CHAT_PAGE], content_type="text/html")


async def page_inbox(request: web.Request) -> web.Response:
    """The Page's inbox as a human agent sees it: every shopper's thread, and a reply box (page-messages)."""
    return web.Response(body=request.app[PAGE_INBOX], content_type="text/html")


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/", chat_page),
    ("GET", "/page-inbox", page_inbox),
    ("POST", "/shoppers", shoppers.create_shopper),
    ("GET", "/shoppers", shoppers.list_shoppers),
    ("GET", "/shoppers/{psid}", shoppers.show_shopper),
    ("GET", "/shoppers/{psid}/thread", shoppers.thread),
    ("POST", "/shoppers/{psid}/messages", shoppers.send_message),
    ("POST", "/shoppers/{psid}/postbacks", shoppers.send_postback),
    ("POST", "/shoppers/{psid}/story-replies", stories.story_reply),
    ("POST", "/shoppers/{psid}/story-mentions", stories.story_mention),
    ("POST", "/shoppers/{psid}/optins", shoppers.tap_optin),
    ("POST", "/shoppers/{psid}/notifications", shoppers.set_notifications),
    ("GET", "/shoppers/{psid}/inbox", shoppers.inbox),
    ("POST", "/shoppers/{psid}/block", shoppers.block),
    ("POST", "/shoppers/{psid}/page-messages", shoppers.page_message),
    ("POST", "/shoppers/{psid}/thread-control", handover.inbox_thread_control),
    ("POST", "/posts", posts.create_post),
    ("POST", "/posts/{post_id}/comments", posts.comment),
    ("POST", "/posts/{post_id}/live", posts.live_status),
    ("GET", "/clock", admin.show_clock),
    ("POST", "/clock", admin.advance_clock),
    ("GET", "/config", admin.show_config),
    ("POST", "/config", admin.configure),
    ("GET", "/sent", admin.sent),
    ("POST", "/reset", admin.reset),
    ("GET", "/graph/{version}/me/messenger_profile", profile.messenger_profile),
    ("POST", "/graph/{version}/me/messenger_profile", profile.messenger_profile),
    ("DELETE", "/graph/{version}/me/messenger_profile", profile.messenger_profile),
    ("POST", "/graph/{version}/{node}/messages", graph_api.post_messages),
    ("POST", "/graph/{version}/{node}/{action:pass|take|request}_thread_control", handover.graph_thread_control),
    ("POST", "/graph/{version}/{node}/subscribed_apps", graph_objects.subscribed_apps),
    ("GET", "/graph/{version}/{node}/subscribed_apps", graph_objects.subscribed_apps),
    ("GET", "/graph/{version}/{node}/live_media", graph_objects.live_media),
    ("GET", "/graph/{version}/{node}/conversations", conversations.page_conversations),
    ("GET", "/graph/{version}/{node}/message_templates", templates_api.page_templates),
    ("POST", "/graph/{version}/{node}/message_templates", templates_api.page_templates),
    ("GET", "/graph/{version}/message_template_library", templates_api.template_library),
    ("POST", "/message-templates/{name}/status", templates_api.review),
    ("GET", "/graph/{version}/{object_id}", graph_objects.get_object),
]


@web.middleware
async def sandbox_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Shopper/admin API refusals as ``{"error": message}`` with their status."""
    try:
        response = await handler(request)
    except SandboxError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except (RedisError, OSError) as exc:  # 503 with the reason, and one log line per outage
        request.app[REDIS_OUTAGE].failed(exc)
        return web.json_response({"error": f"the sandbox cannot reach Redis ({type(exc).__name__}); "
                                           "try again shortly"}, status=503, headers={"Retry-After": "1"})
    request.app[REDIS_OUTAGE].recovered()
    return response


def create_sandbox_app(settings: Settings, redis: Redis, *, receipt_interval: float = INTERVAL_SECONDS,
                       profile: dict[str, Any] | None = None) -> web.Application:
    """The sandbox for ``settings.page_id``; its webhooks go signed to ``settings.webhook_url``.

    ``receipt_interval`` is how long delivery/read receipts are collected before one batched POST.
    ``profile``: the bot's Messenger profile (Get Started, greeting, menu), set when the sandbox
    starts, as ``salebell profile sync`` would, so Get Started works from the first tap.
    """
    keys = Keys(settings.page_id)
    app = web.Application(middlewares=[sandbox_errors])
    app[SANDBOX] = Sandbox(settings=settings, keys=keys, clock=Clock(redis, keys),
                           ledger=Ledger(redis, keys), state=SandboxState(redis, keys),
                           faults=Faults(redis, keys), templates=TemplateBook(redis, keys))
    app[RECEIPT_INTERVAL] = receipt_interval
    app[REDIS_OUTAGE] = Outage(log, "sandbox API")
    if profile is not None:
        app[START_PROFILE] = profile
    app[CHAT_PAGE] = resources.files(__package__).joinpath("chat.html").read_bytes()
    app[PAGE_INBOX] = resources.files(__package__).joinpath("page-inbox.html").read_bytes()
    for prefix in ("", "/sandbox"):
        for method, path, handler in ROUTES:
            app.router.add_route(method, prefix + path, handler)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    """The HTTP session for webhooks, and the receipt pump, for as long as the app runs."""
    sandbox = app[SANDBOX]
    if START_PROFILE in app:
        await sync_profile_at_start(sandbox, app[START_PROFILE])
    async with aiohttp.ClientSession() as session:
        async def retry_budget() -> float:
            return float((await sandbox.ledger.config())["webhook_retry_seconds"])

        sandbox.sender = WebhookSender(session, sandbox.settings, retry_budget)
        pump = ReceiptPump(sandbox.page_id, sandbox.ledger, sandbox.clock, sandbox.sender, app[RECEIPT_INTERVAL],
                           app_id=sandbox.app_id, state=sandbox.state,
                           instagram_account=sandbox.settings.instagram_account_id)
        stop = asyncio.Event()
        task = asyncio.create_task(pump.run(stop), name="sandbox-receipts")
        try:
            yield
        finally:
            stop.set()
            await _finish(task, PUMP_STOP_SECONDS)
            sandbox.sender = None


async def sync_profile_at_start(sandbox: Sandbox, wanted: dict[str, Any]) -> None:
    """Store the bot's profile as ``POST me/messenger_profile`` would (validated the same way)."""
    refused = profile.check_profile(wanted, await sandbox.state.profile())
    if refused is not None:
        log.warning("sandbox: the bot's Messenger profile was not set at start: %s", refused.message)
        return
    await sandbox.state.set_profile(wanted)
    log.info("sandbox: Messenger profile set at start (%s)", ", ".join(sorted(wanted)))


def mount_redirect(app: web.Application) -> None:
    """``/sandbox`` (no slash) redirects to the chat page at ``/sandbox/``."""

    async def to_slash(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/sandbox/")

    app.router.add_get("/sandbox", to_slash)


async def _finish(task: asyncio.Task[None], seconds: float) -> None:
    """Cancel a task whose stop event is set, and wait for it, never unbounded.

    The event ends its loop even where a library swallowed the cancellation (seen under load:
    the pump kept running and the app's cleanup waited on it forever); the cancel is repeated once.
    """
    for _ in range(2):
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=seconds)
        if done:
            break
    if not done:
        log.warning("sandbox: %s did not stop; left behind", task.get_name())
    elif not task.cancelled() and task.exception() is not None:
        log.warning("sandbox: %s ended with %r", task.get_name(), task.exception())
