"""Order updates as utility messages outside the window (issue 14: "Tags are going away"; messenger-platform.md §3.3, §9).

Through the sandbox over real HTTP: the templates are synced with the Page (admin API), the
sandbox approves them at once and sends the ``message_template_status_update`` webhook, and an
order update outside the window goes as a utility message from its status's template.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from live_sales.orders import STATUSES
from tests.conftest import bounded
from tests.test_live_sales.conftest import Shop, shop_settings, start_shop

SHIPPED = "salebell_order_shipped"


def order(psid: str, order_id: str = "C-3", status: str = "out_for_delivery", **extra: object) -> dict[str, object]:
    return {"psid": psid, "order_id": order_id, "status": status, **extra}


@pytest.fixture
async def utility_shop(serve: Callable[..., Awaitable[TestClient[Any, Any]]], redis: Redis,
                       page_id: str) -> AsyncIterator[Shop]:
    shop = await start_shop(serve, redis, shop_settings(page_id, utility_messages_enabled=True))
    yield shop
    await bounded(shop.runtime.stop(), "stop the runtime")


async def outside_window(shop: Shop) -> str:
    psid = await shop.shopper()
    await shop.says(psid, "thanks!")
    await shop.runtime.drain()
    await shop.advance(30 * 3600)
    return psid


async def test_sync_creates_one_approved_template_per_status_once(utility_shop: Shop) -> None:
    shop = utility_shop
    first = await shop.api("POST", "/api/utility-templates/sync")
    assert sorted(t["name"] for t in first["created"]) == sorted(f"salebell_order_{s}" for s in STATUSES)
    assert first["existing"] == [] and first["approved"] is True
    assert {t["status"] for t in first["created"]} == {"APPROVED"}
    again = await shop.api("POST", "/api/utility-templates/sync")
    assert again["created"] == [] and len(again["existing"]) == len(STATUSES)
    assert {t["id"] for t in again["existing"]} == {t["id"] for t in first["created"]}
    await shop.runtime.drain()  # the status webhooks of the creations
    listed = await shop.api("GET", "/api/utility-templates")
    assert listed["enabled"] is True and listed["missing"] == []
    assert {t["name"]: t["status"] for t in listed["templates"]}[SHIPPED] == "APPROVED"
    created = [r for r in await shop.sent() if r["api"] == "templates" and r["method"] == "POST"]
    assert len(created) == len(STATUSES)
    body = next(r["request"] for r in created if r["request"]["name"] == SHIPPED)
    assert body["category"] == "UTILITY" and body["parameter_format"] == "NAMED"
    assert [p["param_name"] for p in body["components"][0]["example"]["body_text_named_params"]] == [
        "order_id", "status", "items", "total", "tracking_url"]


async def test_an_update_outside_the_window_goes_as_a_utility_message(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await outside_window(shop)
    answer = await shop.api("POST", "/api/order-updates", order(
        psid, items=[{"title": "Red dress (M)", "quantity": 2}], total={"amount": 1200, "currency": "PHP"},
        tracking_url="https://track.test/C-3"), status=202)
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert (message["messaging_type"], message["tag"]) == ("UTILITY", None)
    assert message["message"]["template"] == "salebell_order_out_for_delivery"
    assert message["message"]["text"] == ("Your order C-3 is out for delivery.\nStatus: Out for delivery\n"
                                          "Items: 2 x Red dress (M)\nTotal: PHP 1,200.00\n"
                                          "Tracking: https://track.test/C-3")
    record = await shop.runtime.outbox.record(answer["job_id"])
    assert record is not None and (record.state, record.via) == ("sent", "utility")
    [call] = [r for r in await shop.sent() if r["api"] == "send"]
    template = call["request"]["message"]["template"]
    assert call["request"]["messaging_type"] == "UTILITY" and "text" not in call["request"]["message"]
    assert {p["parameter_name"]: p["text"] for p in template["components"][0]["parameters"]}["order_id"] == "C-3"
    metrics = await (await shop.client.get("/metrics")).text()
    page = shop.settings.page_id
    assert f'salebell_sends_total{{outcome="sent",page="{page}",reason="utility"}} 1.0' in metrics


async def test_an_update_without_items_fills_every_parameter(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await outside_window(shop)
    await shop.api("POST", "/api/order-updates", order(psid, "A-9", "shipped"), status=202)
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert message["message"]["text"] == ("Your order A-9 has shipped.\nStatus: Shipped\nItems: -\nTotal: -\n"
                                          "Tracking: -")


async def test_inside_the_window_nothing_changes(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await shop.shopper()
    await shop.says(psid, "where is my parcel?")
    await shop.api("POST", "/api/order-updates", order(psid, "A-1", "shipped"), status=202)
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert (message["messaging_type"], message["message"]["text"]) == ("UPDATE", "Your order A-1 has shipped.")


async def test_a_template_not_approved_skips_the_update_with_a_reason(utility_shop: Shop) -> None:
    shop = utility_shop
    psid = await outside_window(shop)
    never_synced = await shop.api("POST", "/api/order-updates", order(psid, "A-1", "shipped"), status=202)
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(never_synced["job_id"])
    assert record is not None and (record.state, record.reason) == ("skipped", "template_not_approved")
    await shop.api("POST", "/api/utility-templates/sync")
    review = await shop.call("POST", f"/sandbox/message-templates/{SHIPPED}/status", {"status": "REJECTED"})
    assert review["webhook_status"] == 200
    await shop.runtime.drain()  # the message_template_status_update webhook
    listed = await shop.api("GET", "/api/utility-templates")
    assert listed["missing"] == [SHIPPED]
    rejected = await shop.api("POST", "/api/order-updates", order(psid, "A-2", "shipped"), status=202)
    packed = await shop.api("POST", "/api/order-updates", order(psid, "A-2", "packed"), status=202)
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(rejected["job_id"])
    assert record is not None and (record.state, record.reason) == ("skipped", "template_not_approved")
    record = await shop.runtime.outbox.record(packed["job_id"])
    assert record is not None and (record.state, record.via) == ("sent", "utility")
    assert [m["message"]["template"] for m in await shop.inbox(psid)] == ["salebell_order_packed"]


async def test_free_text_never_goes_as_a_utility_message(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await shop.shopper()
    await shop.says(psid, "hello")
    await shop.runtime.drain()
    queued = await shop.api("POST", "/api/order-updates", {"psid": psid, "order_id": "A-1", "status": "shipped",
                                                          "note": "FLASH SALE 50% OFF tonight"}, status=202)
    await shop.advance(25 * 3600)  # the window closes before it goes
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(queued["job_id"])
    assert record is not None and (record.state, record.reason) == ("skipped", "outside_window")
    assert await shop.inbox(psid) == []


async def test_without_the_permission_the_sync_is_refused_with_metas_reason(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.call("POST", "/sandbox/config", {"page_utility_messaging": False})
    answer = await shop.api("POST", "/api/utility-templates/sync", status=409)
    assert "page_utility_messaging" in answer["error"]["message"]
    assert (await shop.api("GET", "/api/utility-templates"))["missing"]


async def test_with_utility_messages_off_the_tag_route_stays(shop: Shop) -> None:
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await outside_window(shop)
    await shop.api("POST", "/api/order-updates", order(psid, "A-1", "shipped"), status=202)
    await shop.runtime.drain()
    [message] = await shop.inbox(psid)
    assert (message["messaging_type"], message["tag"]) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")


async def test_a_utility_send_meta_refuses_for_the_permission_fails_with_the_reason(utility_shop: Shop) -> None:
    shop = utility_shop
    await shop.api("POST", "/api/utility-templates/sync")
    psid = await outside_window(shop)
    await shop.call("POST", "/sandbox/config", {"page_utility_messaging": False})  # revoked after the sync
    answer = await shop.api("POST", "/api/order-updates", order(psid, "A-1", "shipped"), status=202)
    await shop.runtime.drain()
    record = await shop.runtime.outbox.record(answer["job_id"])
    assert record is not None and (record.state, record.reason, record.code) == ("failed", "permission", "200")
    assert await shop.inbox(psid) == []


def test_the_app_subscribes_to_template_reviews_when_utility_messages_are_on(page_id: str) -> None:
    from dialogue.profile import webhook_fields  # noqa: PLC0415 - the dialogue plugin installs the webhook fields

    assert "message_template_status_update" in webhook_fields(shop_settings(page_id, utility_messages_enabled=True))
    assert "message_template_status_update" not in webhook_fields(shop_settings(page_id))


async def test_the_template_routes_are_described_and_want_the_token(shop: Shop) -> None:
    document = await (await shop.client.get("/api/openapi.json")).json()
    assert document["paths"]["/api/utility-templates/sync"]["post"]["summary"]
    assert "missing" in document["paths"]["/api/utility-templates"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]
    await shop.api("POST", "/api/utility-templates/sync", status=401, token=None)
    await shop.api("GET", "/api/utility-templates", status=401, token="wrong")


async def test_a_utility_send_whose_answer_was_lost_is_found_in_the_thread_not_sent_twice(
        serve: Callable[..., Awaitable[TestClient[Any, Any]]], redis: Redis, page_id: str) -> None:
    """Without echoes the reclaim looks the send up in the shopper's thread by the text the shopper saw: the
    template rendered, not the Send API body (which names the template), else it was sent a second time."""
    shop = await start_shop(serve, redis, shop_settings(page_id, utility_messages_enabled=True,
                                                        echo_wait_seconds=1.0, reclaim_idle_seconds=0.3))
    try:
        await shop.api("POST", "/api/utility-templates/sync")
        psid = await outside_window(shop)
        await shop.call("POST", "/sandbox/config", {"echoes": False})
        await shop.call("POST", "/sandbox/config", {"fault": {"calls": 1, "psid": psid, "lose_answer": True}})
        answer = await shop.api("POST", "/api/order-updates", order(psid), status=202)
        for _ in range(60):
            await shop.runtime.drain(timeout=20)
            record = await shop.runtime.outbox.record(answer["job_id"])
            if record is not None and record.state in ("sent", "skipped", "failed"):
                break
            await asyncio.sleep(0.1)
        assert record is not None and (record.state, record.via) == ("sent", "utility"), record
        assert len(await shop.inbox(psid)) == 1  # once
    finally:
        await bounded(shop.runtime.stop(), "stop the runtime")
