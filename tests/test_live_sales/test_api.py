"""The admin API of live sales: routes as documented, auth, validation, status conflicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.pages import PAGES
from bot.storage import connect
from tests.support.redis_server import RedisProcess
from tests.test_live_sales.conftest import TOKEN, Shop, shop_settings, start_shop

DESIGN_ROUTES = {
    ("POST", "/api/live-sales"), ("GET", "/api/live-sales"), ("GET", "/api/live-sales/{id}"),
    ("POST", "/api/live-sales/{id}/start"), ("POST", "/api/live-sales/{id}/end"),
    ("POST", "/api/broadcasts"), ("POST", "/api/order-updates"), ("GET", "/api/stats"),
}


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and path != "/api/openapi.json" and route.method != "HEAD":
            routes.add((route.method, path))
    return routes


async def test_openapi_describes_exactly_the_routes_that_exist(shop: Shop) -> None:
    resp = await shop.client.get("/api/openapi.json")  # public: no token needed
    document = await resp.json()
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    served = app_routes(shop.client.server.app)  # type: ignore[attr-defined]
    assert documented == served
    assert DESIGN_ROUTES <= served
    start = document["paths"]["/api/live-sales/{id}/start"]["post"]
    assert start["summary"] and start["parameters"][0]["name"] == "id"
    assert document["paths"]["/api/live-sales"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "required"] == ["title"]


async def test_every_route_wants_the_bearer_token(shop: Shop) -> None:
    for method, path in sorted(DESIGN_ROUTES):
        concrete = path.replace("{id}", "ls-1")
        body = await shop.api(method, concrete, {}, status=401, token=None)
        assert body["error"]["status"] == 401
        await shop.api(method, concrete, {}, status=401, token="wrong")


async def test_validation_answers_400_and_422(shop: Shop) -> None:
    resp = await shop.client.post("/api/live-sales", data=b"{not json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 400 and (await resp.json())["error"]["message"] == "body is not valid JSON"
    assert "title is required" in (await shop.api("POST", "/api/live-sales", {"url": "https://x.test"}, 422))["error"][
        "message"]
    await shop.api("POST", "/api/live-sales", {"title": "x", "url": "ftp://nope"}, 422)
    await shop.api("POST", "/api/live-sales", {"title": "x", "scheduled_at": "tomorrow-ish"}, 422)
    await shop.api("POST", "/api/live-sales", {"title": "x", "post_ids": [1, 2]}, 422)
    await shop.api("POST", "/api/live-sales", {"title": "x", "topic": "a|b"}, 422)
    await shop.api("POST", "/api/broadcasts", {"topic": "daily_reminders"}, 422)
    await shop.api("POST", "/api/broadcasts", {"text": "x", "button_title": "Shop"}, 422)  # a button needs a url
    await shop.api("POST", "/api/broadcasts", {"text": "y" * 2001}, 422)
    # nothing is cut on its way (issue 14): with a link, 640 on the Send API, a card of 80 on the Marketing Message API
    long_card = await shop.api("POST", "/api/broadcasts", {"text": "z" * 318, "url": "https://shop.test/x"}, 422)
    assert "at most 80" in long_card["error"]["message"]
    preview = await shop.api("POST", "/api/broadcasts/preview", {"text": "z" * 318, "url": "https://shop.test/x"})
    assert "at most 80" in preview["message_problem"]
    await shop.api("POST", "/api/order-updates", {"psid": "1", "order_id": "A1"}, 422)
    await shop.api("POST", "/api/order-updates", {"psid": "1", "order_id": "A|1", "text": "t"}, 422)
    await shop.api("GET", "/api/stats?days=0", status=422)
    await shop.api("GET", "/api/stats?days=seven", status=422)
    await shop.api("GET", "/api/live-sales?status=paused", status=422)


async def test_unknown_sale_is_404_and_status_conflicts_are_409(shop: Shop) -> None:
    for method, path in (("GET", "/api/live-sales/ls-404"), ("POST", "/api/live-sales/ls-404/start"),
                         ("POST", "/api/live-sales/ls-404/end"), ("POST", "/api/live-sales/ls-404/cancel"),
                         ("GET", "/api/broadcasts/bc-404")):
        assert (await shop.api(method, path, status=404))["error"]["message"].endswith("not found")
    sale = await shop.sale()
    body = await shop.api("POST", f"/api/live-sales/{sale}/end", status=409)
    assert "never started" in body["error"]["message"]
    await shop.api("POST", f"/api/live-sales/{sale}/cancel", status=409)
    no_url = await shop.api("POST", "/api/live-sales", {"title": "No link yet"}, status=201)
    assert "no url" in (await shop.api("POST", f"/api/live-sales/{no_url['id']}/start", status=409))["error"]["message"]
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    ended = await shop.api("POST", f"/api/live-sales/{sale}/end")
    assert ended["changed"] and ended["live_sale"]["status"] == "ended"
    again = await shop.api("POST", f"/api/live-sales/{sale}/end")
    assert not again["changed"] and again["outcome"] == "already"
    assert "has ended" in (await shop.api("POST", f"/api/live-sales/{sale}/start", status=409))["error"]["message"]
    await shop.settle()


async def test_create_list_show(shop: Shop) -> None:
    first = await shop.api("POST", "/api/live-sales", {
        "title": "Denim drop", "url": "https://shop.test/live", "scheduled_at": "2030-01-02T20:00:00+08:00",
        "post_ids": ["p1"], "products": ["SKU-1", "SKU-2"]}, status=201)
    assert first["status"] == "scheduled" and first["scheduled_at"] == "2030-01-02T12:00:00Z"
    assert first["topic"] == "daily_reminders" and first["products"] == ["SKU-1", "SKU-2"]
    assert first["fanout"]["state"] == "none" and first["numbers"]["queued"] == 0
    second = await shop.sale("Shoes", topic="shoes")
    listed = await shop.api("GET", "/api/live-sales")
    assert [s["id"] for s in listed["live_sales"]] == [first["id"], second]  # later scheduled first
    assert (await shop.api("GET", "/api/live-sales?status=live"))["live_sales"] == []
    shown = await shop.api("GET", f"/api/live-sales/{second}")
    assert shown["title"] == "Shoes" and shown["topic"] == "shoes"
    assert shop.client.server.app[PAGES].first is shop.runtime  # type: ignore[attr-defined]


async def test_deeply_nested_json_to_the_admin_api_and_the_sandbox_is_400_not_500(shop: Shop) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    admin = await shop.client.post("/api/broadcasts", data=deep, headers={"Authorization": f"Bearer {TOKEN}"})
    assert admin.status == 400, await admin.text()
    sandbox = await shop.client.post("/sandbox/shoppers", data=deep)
    assert sandbox.status == 400, await sandbox.text()
    graph = await shop.client.post("/sandbox/graph/v25.0/me/messages", data=deep,
                                   headers={"Authorization": "Bearer sandbox-page-token"})
    assert graph.status < 500, await graph.text()


async def test_a_redis_outage_is_a_503_with_the_reason_logged_once(
        tmp_path: Path, serve: Any, page_id: str, caplog: pytest.LogCaptureFixture) -> None:
    """Found with Redis Cluster (a shard down): every admin call answered an opaque 500 with a traceback
    per call, on one redis-server too."""
    private = RedisProcess(tmp_path)
    private.start()
    redis = connect(private.url)
    shop = await start_shop(serve, redis, shop_settings(page_id))
    try:
        await shop.api("GET", "/api/live-sales")
        private.stop()
        with caplog.at_level("WARNING"):
            answers = [await shop.api("GET", "/api/live-sales", status=503) for _ in range(3)]
        assert "storage unavailable (Redis ConnectionError)" in answers[0]["error"]["message"]
        unavailable = [r for r in caplog.records if r.name == "bot.admin" and "Redis unavailable" in r.getMessage()]
        assert len(unavailable) == 1 and not [r for r in caplog.records if r.exc_info]
        private.start()
        await shop.api("GET", "/api/live-sales")
    finally:
        await shop.runtime.stop()
        await redis.aclose()
        private.stop()
