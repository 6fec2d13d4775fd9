"""Issue 9: one deployment serving two Pages side by side in one process (web + runtime per Page).

Each Page runs a live sale with its own subscribers, limits and numbers, through its own sandbox
(the second under ``/sandbox/pages/<id>/``, with a Page token of its own), and neither sees the
other's shoppers. Every test runs on one redis-server and on a local three-master Redis Cluster with
the two Pages on two other nodes than the one ``REDIS_URL`` names (webhook, dialogue turn, fan-out).
The same across ``serve --web-only`` and workers: ``tests/faults/test_12_two_pages.py``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.pages import PAGES, Pages
from bot.secret import Secret
from bot.settings import Settings
from bot.storage import connect
from tests.conftest import REDIS_URL, bounded, watch_connections
from tests.support.pages import delete_page_keys
from tests.support.redis_cluster import RedisClusterProcesses, page_on_node
from tests.support.redis_server import free_port
from tests.support.webhooks import message_item, messaging_body, now_ms, signed
from tests.test_live_sales.conftest import TOKEN, Shop

PLUGINS = ["dialogue", "live_sales"]


@dataclass
class PageShop(Shop):
    """One Page of the two: its sandbox under ``sandbox``, its admin API with ``?page=``."""

    sandbox: str = "/sandbox/"

    async def call(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        return await super().call(method, path.replace("/sandbox/", self.sandbox, 1), json, status)

    async def api(self, method: str, path: str, json_body: Any = None, status: int = 200,
                  token: str | None = TOKEN) -> Any:
        page = f"{'&' if '?' in path else '?'}page={self.settings.page_id}"
        return await super().api(method, path + page, json_body, status, token)

    async def opted_in(self, name: str) -> str:
        """A shopper who said LIVE to this Page and tapped its opt-in card."""
        psid = await self.new_shopper(name)
        await self.says(psid, "LIVE")
        await self.settle()
        await self.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": self.settings.optin_title})
        await self.settle()
        return psid


@pytest.fixture(params=["redis-server", "cluster"])
async def backend(request: pytest.FixtureRequest, redis: Redis, page_id: str) -> AsyncIterator[tuple[Redis, str, str,
                                                                                                      dict[str, str]]]:
    """The client, the two Pages and the environment: one redis-server, or a Redis Cluster."""
    if request.param == "redis-server":
        yield redis, page_id, "8" + "".join(secrets.choice("0123456789") for _ in range(14)), {"REDIS_URL": REDIS_URL}
        return
    cluster: RedisClusterProcesses = request.getfixturevalue("redis_cluster")
    client = watch_connections(connect(cluster.url, cluster=True))
    await client.ping()
    pages = page_on_node(1), page_on_node(2)
    yield client, *pages, {"REDIS_URL": cluster.url, "REDIS_CLUSTER": "true"}
    for page in pages:
        await delete_page_keys(client, Keys(page))
    await client.aclose()


@pytest.fixture
async def two_pages(backend: tuple[Redis, str, str, dict[str, str]], serve: Callable[..., Awaitable[TestClient]]
                    ) -> AsyncIterator[tuple[PageShop, PageShop, Pages]]:
    """``backend`` before ``serve``: the served app (its receipt pumps) stops before the client it uses closes."""
    redis, page_id, other, env = backend
    port = free_port()
    settings = Settings.from_env({"FB_PAGES": f"{page_id},{other}", "PORT": str(port),
                                  f"CLAIM_WORDS_{other}": "pabili, order", **env})
    settings = settings.replace(admin_token=Secret(TOKEN), lease_seconds=1.0, reclaim_idle_seconds=1.0,
                                worker_concurrency=16, send_concurrency=16, plugins=tuple(PLUGINS),
                                claim_settle_ms=0)
    client = await serve(create_app(settings, redis, plugins=PLUGINS, run_workers=False), port=port)
    pages = client.server.app[PAGES]  # type: ignore[attr-defined]
    first, second = (PageShop(client, pages.get(p), pages.get(p).settings, sandbox=base)  # type: ignore[arg-type]
                     for p, base in ((page_id, "/sandbox/"), (other, f"/sandbox/pages/{other}/")))
    yield first, second, pages
    await bounded(pages.stop(), "stop the runtimes")


async def test_two_pages_each_run_a_live_sale_with_their_own_subscribers_and_numbers(
        two_pages: tuple[PageShop, PageShop, Pages]) -> None:
    a, b, _ = two_pages
    assert a.settings.page_access_token.reveal() != b.settings.page_access_token.reveal()
    ana = await a.opted_in("Ana")
    ben, bea = await b.opted_in("Ben"), await b.opted_in("Bea")
    assert [p["psid"] for p in (await a.call("GET", "/sandbox/shoppers"))["shoppers"]] == [ana]
    assert {p["psid"] for p in (await b.call("GET", "/sandbox/shoppers"))["shoppers"]} == {ben, bea}

    ledger_a = await a.api("GET", "/api/subscribers?format=json")
    ledger_b = await b.api("GET", "/api/subscribers?format=json")
    assert [s["psid"] for s in ledger_a["subscribers"]] == [ana]
    assert sorted(s["psid"] for s in ledger_b["subscribers"]) == sorted([ben, bea])

    sale_a = await a.sale("Page A denim", url="https://a.shop.test/live")
    sale_b = await b.sale("Page B shoes", url="https://b.shop.test/live")
    assert sale_a == sale_b == "ls-1"  # each Page numbers its own sales
    await a.api("POST", f"/api/live-sales/{sale_a}/start")
    await b.api("POST", f"/api/live-sales/{sale_b}/start")
    await a.settle()
    await b.settle()

    numbers_a = (await a.api("GET", f"/api/live-sales/{sale_a}"))["numbers"]
    numbers_b = (await b.api("GET", f"/api/live-sales/{sale_b}"))["numbers"]
    assert (numbers_a["eligible"], numbers_a["sent"]) == (1, 1), numbers_a
    assert (numbers_b["eligible"], numbers_b["sent"]) == (2, 2), numbers_b
    assert len(await a.received(ana, "a.shop.test")) == 1
    for psid in (ben, bea):
        assert len(await b.received(psid, "b.shop.test")) == 1
        assert await b.received(psid, "a.shop.test") == []
    assert await a.received(ana, "b.shop.test") == []
    # each Page's sandbox took only its own sends (it refuses any other Page's token)
    sent_a, sent_b = json.dumps(await a.sent()), json.dumps(await b.sent())
    assert ana in sent_a and ben not in sent_a and bea not in sent_a
    assert ben in sent_b and bea in sent_b and ana not in sent_b


async def test_each_page_reads_claims_with_its_own_claim_words(two_pages: tuple[PageShop, PageShop, Pages]) -> None:
    """``CLAIM_WORDS_<id>``: the second Page's shop claims with "pabili"/"order", the first keeps the default
    words ("sold", "mine", ...)."""
    a, b, _ = two_pages
    assert b.settings.claim_words == ("pabili", "order") and a.settings.claim_words == ()
    for shop in (a, b):
        post = (await shop.call("POST", "/sandbox/posts", {"message": "Live now"}))["post_id"]
        sale = await shop.sale(post_ids=[post])
        await shop.api("POST", f"/api/live-sales/{sale}/products", {"code": "12", "title": "Jacket", "quantity": 5},
                       status=201)
        await shop.api("POST", f"/api/live-sales/{sale}/start")
        for n, text in enumerate(("pabili 12", "SOLD 12", "order po 12")):
            psid = await shop.new_shopper(f"Shopper {n}")
            await shop.call("POST", f"/sandbox/posts/{post}/comments", {"psid": psid, "message": text})
        await shop.settle()
        claims = (await shop.api("GET", f"/api/live-sales/{sale}/claims"))["claims"]
        said = sorted(c["message"] for c in claims)  # comments of one second go by comment id
        assert said == (["SOLD 12"] if shop is a else ["order po 12", "pabili 12"]), said


async def test_the_admin_api_names_the_page_when_there_are_several(two_pages: tuple[PageShop, PageShop, Pages]) -> None:
    a, b, _ = two_pages
    no_page = await Shop.api(a, "GET", "/api/live-sales", status=400)
    assert a.settings.page_id in no_page["error"]["message"] and b.settings.page_id in no_page["error"]["message"]
    unknown = await Shop.api(a, "GET", "/api/live-sales?page=123", status=404)
    assert "123 is not served" in unknown["error"]["message"]
    assert (await a.api("GET", "/api/live-sales"))["live_sales"] == []


async def test_one_webhook_body_for_two_pages_reaches_each_page_and_a_foreign_entry_is_counted(
        two_pages: tuple[PageShop, PageShop, Pages]) -> None:
    a, b, pages = two_pages
    redis = a.runtime.redis
    ts = now_ms()
    body = {"object": "page", "entry": [
        messaging_body(a.settings.page_id, message_item(a.settings.page_id, "111", "for A", mid="m.a1", ts=ts))["entry"][0],
        messaging_body(b.settings.page_id, message_item(b.settings.page_id, "222", "for B", mid="m.b1", ts=ts))["entry"][0],
        messaging_body("777", message_item("777", "333", "for nobody", mid="m.c1", ts=ts))["entry"][0],
    ]}
    raw, headers = signed(body, a.settings.app_secret.reveal())
    assert (await a.client.post("/webhook", data=raw, headers=headers)).status == 200
    await pages.drain(send=False)
    threads = {}
    for shop in (a, b):
        counters = await redis.hgetall(shop.runtime.keys.counters)
        threads[shop.settings.page_id] = {k.decode(): int(v) for k, v in counters.items()}
    assert threads[a.settings.page_id].get("events_total|message") == 1
    assert threads[b.settings.page_id].get("events_total|message") == 1
    assert threads[a.settings.page_id].get("events_rejected_total|foreign_page") == 1
    assert "events_rejected_total|foreign_page" not in threads[b.settings.page_id]
    metrics = await (await a.client.get("/metrics")).text()
    for page in (a.settings.page_id, b.settings.page_id):
        assert f'salebell_events_total{{kind="message",page="{page}"}} 1.0' in metrics
    health = await (await a.client.get("/healthz")).json()
    assert set(health["pages"]) == {a.settings.page_id, b.settings.page_id}
    assert json.dumps(health).count("inbox_backlog") == 3  # the first Page's at the top, then each Page's
