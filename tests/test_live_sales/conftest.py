"""A sandbox bot with the live-sale plugin mounted, and helpers to make subscribers and settle fan-outs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.runtime import Runtime
from bot.secret import Secret
from bot.settings import Settings
from live_sales import LiveSales, domain_of
from tests.conftest import OPTIN_TITLE as TITLE
from tests.conftest import TOPIC, SandboxBot, bounded, sandbox_settings
from tests.support.redis_server import free_port

TOKEN = "test-admin-token"
PLUGINS = ["live_sales"]


@dataclass
class Shop(SandboxBot):
    """The sandbox bot plus the admin API with its token."""

    @property
    def domain(self) -> LiveSales:
        return domain_of(self.runtime)

    async def api(self, method: str, path: str, json_body: Any = None, status: int = 200,
                  token: str | None = TOKEN) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await self.client.request(method, path, json=json_body, headers=headers)
        body = await resp.json()
        assert resp.status == status, (resp.status, body)
        return body

    async def settle(self, timeout: float = 20) -> None:
        """Run fan-outs and the send path until nothing is left (burst mode, no sleeping)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.runtime.drain(timeout)
            if not await self.domain.runner.run_pending():
                return
            assert loop.time() < deadline, "fan-outs still running"

    async def new_shopper(self, name: str, timezone: str | None = None) -> str:
        body = {"name": name, **({"timezone": timezone} if timezone else {})}
        return str((await self.call("POST", "/sandbox/shoppers", body))["psid"])

    async def subscriber(self, name: str = "Ana", topic: str = TOPIC, timezone: str | None = None) -> str:
        """A shopper who chatted, got the opt-in card and tapped it (a marketing token is stored)."""
        psid = await self.new_shopper(name, timezone)
        await self.subscribe([psid], topic)
        return psid

    async def otn_holder(self, name: str = "Otto", topic: str = TOPIC, psid: str | None = None) -> str:
        """A shopper who asked to be told once (one OTN token for the topic); ``psid``: an existing one."""
        psid = psid or await self.shopper(name)
        await self.give_otn(psid, "Next live", topic)
        return psid

    async def sale(self, title: str = "Denim drop", url: str = "https://shop.test/live", **extra: Any) -> str:
        body = await self.api("POST", "/api/live-sales", {"title": title, "url": url, **extra}, status=201)
        return str(body["id"])

    async def received(self, psid: str, needle: str = "shop.test") -> list[dict[str, Any]]:
        """The shopper's inbox entries that mention ``needle`` (a sale's or blast's URL)."""
        return [m for m in await self.inbox(psid) if needle in json.dumps(m["message"])]


async def start_shop(serve: Callable[..., Awaitable[TestClient[Any, Any]]], redis: Redis, settings: Settings,
                     plugins: Sequence[str] = PLUGINS) -> Shop:
    runtime = Runtime(settings, redis)
    app = create_app(settings, redis, runtime=runtime, plugins=plugins, run_workers=False)
    client = await serve(app, port=settings.port)
    return Shop(client, runtime, settings)


def shop_settings(page_id: str, **overrides: Any) -> Settings:
    return sandbox_settings(page_id, free_port(), admin_token=Secret(TOKEN), **overrides)


@pytest.fixture
async def shop(serve: Callable[..., Awaitable[TestClient[Any, Any]]], redis: Redis, page_id: str) -> AsyncIterator[Shop]:
    bot = await start_shop(serve, redis, shop_settings(page_id))
    yield bot
    await bounded(bot.runtime.stop(), "stop the runtime")


async def poll(probe: Callable[[], Awaitable[bool]], timeout: float = 10, what: str = "condition") -> None:
    """Wait until ``probe()`` is true, or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await probe():
        if loop.time() > deadline:
            pytest.fail(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.05)
