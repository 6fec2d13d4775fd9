"""Admin routes of the live-sale domain (``/api/``, bearer ``ADMIN_TOKEN``; DESIGN.md "Contracts").

Errors: 400 bad JSON, 401 no or wrong token, 404 unknown sale or blast, 409 a
status that does not allow the step (ending a sale that never started, starting an
ended one), 422 a missing or wrong field. The schemas in :mod:`live_sales.schemas`
check every field before a handler runs (:mod:`bot.schema_check`); the handlers check
only what a schema cannot say (a time in the past, a URL Messenger refuses, a button
title without a url).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.admin import AdminApi, conflict, field_of, invalid, not_found, read_json
from bot.graph.payloads import PayloadError
from bot.pages import page_runtime
from bot.shop_calendar import parse_shop_time

from . import schemas
from .messages import check_url
from .model import STATUSES
from .numbers import DAY_MS, MAX_DAYS, last_days, shoppers_without_consent
from .orders import OrderError, OrderItem, OrderUpdate, send_order_update
from .service import LiveSales, PastStart, domain_of

api = AdminApi()

PSID = re.compile(schemas.PSID_PATTERN)
TOPIC = re.compile(schemas.TOPIC_PATTERN)
DAYS = (("days", {**schemas.LIMIT_DAYS, "maximum": MAX_DAYS, "default": 7}, False),)


def _domain(request: web.Request) -> LiveSales:
    return domain_of(page_runtime(request))


def _strings(body: dict[str, Any], name: str) -> list[str]:
    return list(field_of(body, name, list, required=False, default=[]))


def _url(body: dict[str, Any], required: bool) -> str:
    url = field_of(body, "url", str, required=required, default="")
    problem = check_url(url) if url else None
    if problem:
        raise invalid(f"url: {problem}")
    return str(url)


def _topic(body: dict[str, Any]) -> str | None:
    topic = field_of(body, "topic", str, required=False)
    return str(topic) if topic is not None else None


async def _sale_or_404(domain: LiveSales, sale_id: str) -> Any:
    sale = await domain.sales.get(sale_id)
    if sale is None:
        raise not_found(f"live sale {sale_id}")
    return sale


@api.route("POST", "/api/live-sales", "Create a live sale (scheduled)", body=schemas.SALE_IN, status=201,
           response=schemas.SALE)
async def create_sale(request: web.Request) -> web.Response:
    body = await read_json(request)
    title = field_of(body, "title", str).strip()
    scheduled = field_of(body, "scheduled_at", str, required=False)
    domain = _domain(request)
    try:
        scheduled_ms = parse_shop_time(scheduled, domain.settings.shop_zone) if scheduled else None
    except ValueError:
        raise invalid("scheduled_at must be an ISO 8601 date and time") from None
    try:
        sale = await domain.create_sale(title=title, url=_url(body, required=False), topic=_topic(body),
                                        scheduled_ms=scheduled_ms, post_ids=_strings(body, "post_ids"),
                                        products=_strings(body, "products"),
                                        reminder_minutes=field_of(body, "reminder_minutes", int, required=False,
                                                                  default=0),
                                        notify_at_start=field_of(body, "notify_at_start", bool, required=False,
                                                                 default=True))
    except PastStart as exc:
        raise invalid(str(exc)) from None
    return web.json_response(await domain.sale_view(sale), status=201)


@api.route("GET", "/api/live-sales", "List live sales, newest first", response=schemas.SALE_LIST,
           query=(("status", {"type": "string", "enum": list(STATUSES)}, False),))
async def list_sales(request: web.Request) -> web.Response:
    status = request.query.get("status")
    domain = _domain(request)
    sales = await domain.sales.find(status=status)
    return web.json_response({"live_sales": [await domain.sale_view(s) for s in sales]})


@api.route("GET", "/api/live-sales/{id}", "A live sale with its fan-out progress and numbers",
           response=schemas.SALE)
async def show_sale(request: web.Request) -> web.Response:
    domain = _domain(request)
    return web.json_response(await domain.sale_view(await _sale_or_404(domain, request.match_info["id"])))


@api.route("POST", "/api/live-sales/{id}/start", "Start a live sale and notify its subscribers (once)",
           response=schemas.TRANSITION)
async def start_sale(request: web.Request) -> web.Response:
    domain = _domain(request)
    sale_id = request.match_info["id"]
    trigger = "cli" if request.headers.get("X-Salebell-Client") == "cli" else "api"
    result = await domain.start(sale_id, trigger)
    if result.outcome == "unknown" or result.sale is None:
        raise not_found(f"live sale {sale_id}")
    if result.outcome == "ended":
        raise conflict(f"live sale {sale_id} has ended; it cannot start again")
    if result.outcome == "no_url":
        raise conflict(f"live sale {sale_id} has no url to join; create it with one or go live on the Page")
    return web.json_response({"changed": result.started, "outcome": result.outcome,
                              "live_sale": await domain.sale_view(result.sale)})


@api.route("POST", "/api/live-sales/{id}/end", "End a live sale (stops what is left of its fan-out)",
           response=schemas.TRANSITION)
async def end_sale(request: web.Request) -> web.Response:
    domain = _domain(request)
    sale_id = request.match_info["id"]
    result = await domain.end(sale_id)
    if result.outcome == "unknown" or result.sale is None:
        raise not_found(f"live sale {sale_id}")
    if result.outcome == "scheduled":
        raise conflict(f"live sale {sale_id} never started; start it before ending it")
    return web.json_response({"changed": result.outcome == "ended", "outcome": result.outcome,
                              "live_sale": await domain.sale_view(result.sale)})


@api.route("POST", "/api/live-sales/{id}/cancel", "Cancel a live sale's fan-out (queued notifications are skipped)",
           response=schemas.CANCELLED)
async def cancel_sale(request: web.Request) -> web.Response:
    domain = _domain(request)
    sale = await _sale_or_404(domain, request.match_info["id"])
    return await _cancel(domain, sale.id)


@api.route("POST", "/api/broadcasts", "Send a blast to a topic's subscribers", body=schemas.BROADCAST_IN,
           status=202, response=schemas.BROADCAST)
async def create_broadcast(request: web.Request) -> web.Response:
    body = await read_json(request)
    text = field_of(body, "text", str).strip()
    button_title = field_of(body, "button_title", str, required=False, default="")
    url = _url(body, required=bool(button_title))
    domain = _domain(request)
    try:
        blast = await domain.broadcast(topic=_topic(body), text=text, url=url, button_title=button_title)
        view = await domain.broadcast_view(blast)
    except PayloadError as exc:
        raise invalid(str(exc)) from None
    return web.json_response(view, status=202)


@api.route("GET", "/api/broadcasts", "List blasts, newest first", response=schemas.BROADCAST_LIST)
async def list_broadcasts(request: web.Request) -> web.Response:
    domain = _domain(request)
    blasts = await domain.broadcasts.recent()
    return web.json_response({"broadcasts": [await domain.broadcast_view(b) for b in blasts]})


@api.route("GET", "/api/broadcasts/{id}", "A blast with its progress and numbers", response=schemas.BROADCAST)
async def show_broadcast(request: web.Request) -> web.Response:
    domain = _domain(request)
    blast = await domain.broadcasts.get(request.match_info["id"])
    if blast is None:
        raise not_found(f"broadcast {request.match_info['id']}")
    return web.json_response(await domain.broadcast_view(blast))


@api.route("POST", "/api/broadcasts/{id}/cancel", "Cancel a blast (queued notifications are skipped)",
           response=schemas.CANCELLED)
async def cancel_broadcast(request: web.Request) -> web.Response:
    domain = _domain(request)
    blast = await domain.broadcasts.get(request.match_info["id"])
    if blast is None:
        raise not_found(f"broadcast {request.match_info['id']}")
    return await _cancel(domain, blast.id)


async def _cancel(domain: LiveSales, campaign: str) -> web.Response:
    result = await domain.cancel(campaign)
    if result is None:
        raise conflict(f"{campaign} has no fan-out to cancel (it never started)")
    return web.json_response({"cancelled": result, "campaign": campaign})


@api.route("POST", "/api/order-updates", "Send an order update to one shopper (transactional)",
           body=schemas.ORDER_IN, status=202, response=schemas.ORDER_OUT)
async def order_update(request: web.Request) -> web.Response:
    body = await read_json(request)
    psid, order_id = field_of(body, "psid", str), field_of(body, "order_id", str)
    try:
        update = OrderUpdate(
            psid=psid, order_id=order_id, status=field_of(body, "status", str, required=False, default=None),
            items=_order_items(body.get("items")), total=_order_total(body.get("total")),
            tracking_url=field_of(body, "tracking_url", str, required=False, default=""),
            note=field_of(body, "note", str, required=False, default="") or field_of(  # "text": the older name
                body, "text", str, required=False, default=""),
            confirmed=field_of(body, "confirmed", bool, required=False, default=False), topic=_topic(body))
        answer = await send_order_update(_domain(request), update)
    except (OrderError, PayloadError) as exc:
        raise invalid(str(exc)) from None
    return web.json_response(answer, status=202)


def _order_items(raw: list[dict[str, Any]] | None) -> tuple[OrderItem, ...]:
    """The checked ``items`` (schemas.ORDER_IN) as OrderItems; a quantity defaults to 1."""
    return tuple(OrderItem(item["title"], item.get("quantity", 1)) for item in raw or ())


def _order_total(raw: dict[str, Any] | None) -> tuple[float, str] | None:
    return None if raw is None else (float(raw["amount"]), raw["currency"])


@api.route("GET", "/api/stats", "Numbers per day for the last days (UTC), with reasons and warnings",
           response=schemas.STATS, query=(*DAYS, ("topic", schemas.TOPIC, False)))
async def stats(request: web.Request) -> web.Response:
    domain, days = _domain(request), int(request.query.get("days", "7"))
    topic = request.query.get("topic") or domain.settings.optin_topic
    since = await domain.clock.now_ms() - days * DAY_MS
    without = await shoppers_without_consent(domain.redis, domain.keys, topic, since)
    return web.json_response(await last_days(domain.outbox, domain.clock, days, not_opted_in=without, topic=topic))
