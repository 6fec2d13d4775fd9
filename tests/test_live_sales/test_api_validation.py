"""The admin API checks every request against the schemas its OpenAPI document shows, before a handler runs:
unknown fields, nulls, limits, patterns and query parameters get a 422 naming the field and the rule;
a 405 keeps its ``Allow`` header; the document says the truth about nullable fields."""

from __future__ import annotations

from typing import Any

from tests.test_live_sales.conftest import TOKEN, Shop

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def error_of(shop: Shop, method: str, path: str, body: Any = None) -> dict[str, Any]:
    found = await shop.api(method, path, body, status=422)
    return dict(found["error"])


async def test_a_misspelt_field_is_refused_not_ignored(shop: Shop) -> None:
    error = await error_of(shop, "POST", "/api/live-sales", {"title": "Denim", "schedule_at": "2030-01-01T10:00"})
    assert error == {"status": 422, "message": "unknown field schedule_at", "field": "schedule_at",
                     "rule": "additionalProperties"}
    assert (await shop.api("GET", "/api/live-sales"))["live_sales"] == []  # nothing was created
    error = await error_of(shop, "POST", "/api/order-updates", {"psid": "p1", "order_id": "o1",
                                                                "items": [{"title": "Tee", "qty": 2}]})
    assert error["message"] == "unknown field items[0].qty"


async def test_null_and_limits_are_refused_with_the_rule(shop: Shop) -> None:
    error = await error_of(shop, "POST", "/api/live-sales", {"title": "Denim", "topic": None})
    assert (error["field"], error["rule"]) == ("topic", "type")
    assert (await error_of(shop, "POST", "/api/live-sales", {"title": "  "}))["rule"] == "pattern"
    assert (await error_of(shop, "POST", "/api/live-sales", {"title": "x", "reminder_minutes": 10081}))["message"] \
        == "reminder_minutes must be at most 10080"
    error = await error_of(shop, "POST", "/api/order-updates", {"psid": "no spaces", "order_id": "o1"})
    assert (error["field"], error["rule"]) == ("psid", "pattern")
    error = await error_of(shop, "POST", "/api/order-updates", {"psid": "p1", "order_id": "o1", "status": "lost"})
    assert error["rule"] == "enum" and "shipped" in error["message"]


async def test_query_parameters_are_checked_against_their_schema(shop: Shop) -> None:
    assert (await error_of(shop, "GET", "/api/stats?days=41"))["message"] == "days must be at most 40"
    assert (await error_of(shop, "GET", "/api/stats?days=0"))["rule"] == "minimum"
    assert (await error_of(shop, "GET", "/api/stats?days=soon"))["message"] == "days must be a whole number, not string"
    assert (await error_of(shop, "GET", "/api/live-sales?status=open"))["rule"] == "enum"
    assert (await error_of(shop, "GET", "/api/shoppers"))["message"].startswith("psid is required")
    assert (await error_of(shop, "GET", "/api/shoppers?psid=a&psid=b%20c"))["field"] == "psid[1]"
    assert len((await shop.api("GET", "/api/stats?days=40"))["days"]) == 40


async def test_a_method_the_path_does_not_have_is_a_405_with_allow(shop: Shop) -> None:
    resp = await shop.client.request("PUT", "/api/live-sales", headers=AUTH)
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    assert (await resp.json())["error"]["status"] == 405


async def test_the_document_declares_the_rules_and_the_nulls(shop: Shop) -> None:
    document = await (await shop.client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    create = document["paths"]["/api/live-sales"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False and body["properties"]["topic"]["pattern"]
    sale = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert "null" in sale["properties"]["started_at"]["type"] and "null" in sale["properties"]["video_id"]["type"]
    stats = {p["name"]: p["schema"] for p in document["paths"]["/api/stats"]["get"]["parameters"]}
    assert (stats["days"]["minimum"], stats["days"]["maximum"]) == (1, 40)
    error = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert {"status", "message", "field", "rule"} <= set(error)
