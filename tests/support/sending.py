"""A whole bot with its send worker running in the background, for the send-side fault tests.

``start_bot`` serves the bot (webhook, sandbox) on a real port and starts its runtime
(splitter, consumer, send worker), so sends, receipts and retries happen as in a deployment,
not in the step-by-step ``drain``. Settings come from environment variables, the way an
operator gives them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app import create_app
from bot.graph import payloads
from bot.runtime import Runtime
from bot.send_jobs import TERMINAL, SendJob, SendRecord
from bot.settings import Settings
from tests.conftest import REDIS_URL, TOPIC, SandboxBot
from tests.support.redis_server import free_port

Serve = Callable[..., Awaitable[Any]]


def bot_settings(page_id: str, port: int, **env: str) -> Settings:
    """Sandbox-mode settings from ``env``; reclaims at the production 30 s, so nothing may rely on them."""
    base = Settings.from_env({"FB_PAGE_ID": page_id, "PORT": str(port), "REDIS_URL": REDIS_URL, **env})
    return base.replace(lease_seconds=1.0, reclaim_idle_seconds=30.0, worker_concurrency=16, send_concurrency=16)


async def start_bot(serve: Serve, redis: Redis, settings: Settings, *, port: int | None = None) -> SandboxBot:
    """Serve the bot on ``settings.port`` (or ``port``) with its workers running; stopped with the server."""
    runtime = Runtime(settings, redis)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=True), port=port or settings.port)
    return SandboxBot(client, runtime, settings)


def reply(job_id: str, psid: str, text: str = "hello", **kw: Any) -> SendJob:
    return SendJob(id=job_id, purpose="response", psid=psid, message=payloads.text(text), **kw)


def notification(job_id: str, psid: str, campaign: str) -> SendJob:
    message = payloads.button_template("We're live!", [payloads.web_url_button("Watch now", "https://shop.test/live")])
    return SendJob(id=job_id, purpose="notification", psid=psid, topic=TOPIC, message=message, campaign=campaign)


async def wait_for(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 20.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` (a liveness bound)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (found := await probe()):
        if loop.time() > deadline:
            pytest.fail(f"waited {timeout:.0f}s for {what}")
        await asyncio.sleep(0.05)
    return found


async def final_records(bot: SandboxBot, job_ids: Iterable[str]) -> dict[str, SendRecord] | None:
    """Every job's record once all are final, else None (also while Redis does not answer: an outage test)."""
    ids = list(job_ids)
    try:
        records = await bot.runtime.outbox.records(ids)
    except (RedisError, OSError):
        return None
    if all(r is not None and r.state in TERMINAL for r in records):
        return {i: r for i, r in zip(ids, records) if r is not None}
    return None


async def calls_by_job(bot: SandboxBot) -> dict[str, list[int]]:
    """The HTTP status of every Send API call the sandbox answered, per send job (its ``metadata``)."""
    calls: dict[str, list[int]] = {}
    for item in await bot.sent():
        message = (item.get("request") or {}).get("message") or {}
        if item["api"] == "send" and message.get("metadata"):
            calls.setdefault(message["metadata"], []).append(item["status"])
    return calls


def new_port() -> int:
    return free_port()
