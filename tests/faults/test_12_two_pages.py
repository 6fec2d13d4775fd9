"""Issue 9: two Pages in one deployment across ``serve --web-only`` and two workers (real processes, on a
real redis-server and on a local three-master Redis Cluster with the Pages on two shards): each Page's
shoppers opt in through their own Page, each Page runs a live sale, a worker is SIGKILLed as the fan-outs
start, and every subscriber is told once, by their own Page, of their own Page's sale."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.redis_cluster import RedisClusterProcesses, page_on_node
from tests.support.redis_server import RedisProcess
from tests.support.topology import Topology, TopologyClient

SHOPPERS_PER_PAGE = 8


def _page() -> str:
    return "7" + "".join(secrets.choice("0123456789") for _ in range(14))


@pytest.fixture(params=["redis-server", "cluster"])
async def two_page_deployment(request: pytest.FixtureRequest,
                              tmp_path: Path) -> AsyncIterator[tuple[TopologyClient, str, str]]:
    redis: RedisProcess | RedisClusterProcesses
    if request.param == "cluster":
        redis = request.getfixturevalue("redis_cluster")
        first, second = page_on_node(1), page_on_node(2)
        env = {"REDIS_URL": redis.url, "REDIS_CLUSTER": "true"}
    else:
        redis = RedisProcess(tmp_path / "redis")
        redis.start()
        first, second = _page(), _page()
        env = {"REDIS_URL": redis.url}
    top = Topology(tmp_path, {"FB_PAGES": f"{first},{second}", "LEASE_SECONDS": "2", "RECLAIM_IDLE_SECONDS": "2",
                              **env})
    try:
        await top.start()
        async with aiohttp.ClientSession() as http:
            yield TopologyClient(http, top), first, second
    finally:
        stuck = top.stop()
        if isinstance(redis, RedisProcess):
            redis.stop()
    assert not stuck, f"ignored SIGTERM: {stuck}"


def _sandbox(top: TopologyClient, page: str, first: str) -> str:
    return "/sandbox" if page == first else f"/sandbox/pages/{page}"


async def _opted_in(c: TopologyClient, base: str, name: str) -> str:
    psid = str((await c.call("POST", f"{base}/shoppers", {"name": name}))["psid"])
    await c.call("POST", f"{base}/shoppers/{psid}/messages", {"text": "LIVE"})

    async def card() -> bool:
        inbox = (await c.call("GET", f"{base}/shoppers/{psid}/inbox"))["messages"]
        return any("notification_messages" in json.dumps(m["message"]) for m in inbox)

    await c.until(card, what=f"{name}'s opt-in card")
    await c.call("POST", f"{base}/shoppers/{psid}/optins", {"title": "Get daily reminders"})
    return psid


async def test_two_pages_across_web_and_workers_each_notify_their_own_subscribers_once(
        two_page_deployment: tuple[TopologyClient, str, str]) -> None:
    c, first, second = two_page_deployment
    shoppers: dict[str, list[str]] = {}
    for page in (first, second):
        base = _sandbox(c, page, first)
        shoppers[page] = [await _opted_in(c, base, f"P{page[-3:]}-{n}") for n in range(SHOPPERS_PER_PAGE)]

    async def all_subscribed() -> bool:
        for page in (first, second):
            ledger = await c.api("GET", "/api/subscribers?format=json", page)
            if sorted(s["psid"] for s in ledger["subscribers"] if s["status"] == "active") != sorted(shoppers[page]):
                return False
        return True

    await c.until(all_subscribed, what="every opt-in recorded on its own Page")
    sales = {}
    for page in (first, second):
        sale = await c.api("POST", "/api/live-sales", page, {"title": f"Sale of {page}",
                                                              "url": f"https://p{page}.shop.test/live"}, status=201)
        sales[page] = sale["id"]
        await c.api("POST", f"/api/live-sales/{sale['id']}/start", page)
    c.top.kill_worker(0)

    async def done() -> bool:
        for page in (first, second):
            view = await c.api("GET", f"/api/live-sales/{sales[page]}", page)
            if not view["fanout"]["complete"] or view["numbers"]["pending"]:
                return False
        return True

    await c.until(done, timeout=60, what="both fan-outs complete")
    for page, other in ((first, second), (second, first)):
        numbers = (await c.api("GET", f"/api/live-sales/{sales[page]}", page))["numbers"]
        assert (numbers["eligible"], numbers["sent"]) == (SHOPPERS_PER_PAGE, SHOPPERS_PER_PAGE), numbers
        base = _sandbox(c, page, first)
        for psid in shoppers[page]:
            inbox = json.dumps((await c.call("GET", f"{base}/shoppers/{psid}/inbox"))["messages"])
            assert inbox.count(f"p{page}.shop.test") == 1, (page, psid)
            assert f"p{other}.shop.test" not in inbox
        listed = {s["psid"] for s in (await c.call("GET", f"{base}/shoppers"))["shoppers"]}
        assert listed == set(shoppers[page])


async def test_on_a_cluster_a_shard_down_stops_only_the_pages_it_holds(tmp_path: Path) -> None:
    """With the cluster serving what it still covers, Page A's shopper is answered while the shard of
    Page B is down; B's webhooks answer 503 (Meta retries them) and /healthz names B; B comes back whole."""
    cluster = RedisClusterProcesses(tmp_path / "cluster")
    cluster.start()
    first, second = page_on_node(1), page_on_node(2)
    top = Topology(tmp_path, {"FB_PAGES": f"{first},{second}", "REDIS_URL": cluster.url, "REDIS_CLUSTER": "true"})
    try:
        await top.start()
        async with aiohttp.ClientSession() as http:
            c = TopologyClient(http, top)
            base_b = f"/sandbox/pages/{second}"
            ana = str((await c.call("POST", "/sandbox/shoppers", {"name": "Ana"}))["psid"])
            cluster.kill_node(2)
            said = await c.call("POST", f"/sandbox/shoppers/{ana}/messages", {"text": "LIVE"})
            assert said["webhook_status"] == 200

            async def card() -> bool:
                inbox = (await c.call("GET", f"/sandbox/shoppers/{ana}/inbox"))["messages"]
                return any("notification_messages" in json.dumps(m["message"]) for m in inbox)

            await c.until(card, what="Page A's answer with Page B's shard down")
            signed = await c.call("GET", f"/api/live-sales?page={second}", status=503)
            assert "storage unavailable" in signed["error"]["message"]
            async with http.get(top.url + "/healthz") as resp:
                assert resp.status == 503 and (await resp.json())["page"] == second
            await c.call("POST", f"{base_b}/shoppers", {"name": "Ben"}, status=503)
    finally:
        stuck = top.stop()
        cluster.stop()
    assert not stuck, f"ignored SIGTERM: {stuck}"
