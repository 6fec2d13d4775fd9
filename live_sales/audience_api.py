"""Admin routes for what the dashboard needs beyond the sales and blasts themselves.

- ``POST /api/broadcasts/preview``: a blast checked against the policy before it is sent;
- ``GET /api/stats/not-opted-in``: who messaged or commented lately but never opted in;
- ``GET /api/shoppers?psid=``: names for PSIDs (User Profile API, cached);
- ``POST /api/live-sales/{id}/links``: link more posts or live videos to a sale.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.admin import AdminApi, conflict, field_of, invalid, not_found, read_json
from bot.graph.payloads import PayloadError
from bot.pages import page_runtime

from . import schemas
from .api import DAYS, _strings, _topic
from .audience import ShopperNames, never_opted_in, preview
from .messages import check_fits, check_url, for_broadcast
from .model import Broadcast, iso
from .numbers import DAY_MS
from .service import LiveSales, domain_of

api = AdminApi()

NAMES_MAX = 100
QUIET_LIST_MAX = 500


def _domain(request: web.Request) -> LiveSales:
    return domain_of(page_runtime(request))


async def _names(request: web.Request) -> ShopperNames:
    runtime = page_runtime(request)
    await runtime.open()  # the Graph client (the send worker it also makes is not started here)
    return ShopperNames(runtime.redis, runtime.keys, runtime.clock, runtime.graph)


@api.route("POST", "/api/broadcasts/preview", "Check a blast against the policy before sending it: how many it "
           "would reach, by which route, how many it would skip and why (nothing is sent or stored)",
           body=schemas.PREVIEW_IN, response=schemas.PREVIEW)
async def preview_broadcast(request: web.Request) -> web.Response:
    body = await read_json(request)
    domain = _domain(request)
    topic = _topic(body) or domain.settings.optin_topic
    text = field_of(body, "text", str, required=False, default="").strip()
    button_title = field_of(body, "button_title", str, required=False, default="")
    url = field_of(body, "url", str, required=False, default="")
    problem = check_url(url) if url else None
    if problem:
        raise invalid(f"url: {problem}")
    message_problem = None
    if text:
        try:
            draft = Broadcast(id="-", topic=topic, text=text, url=url, button_title=button_title)
            check_fits(draft, domain.settings.marketing_path)
            for_broadcast(draft)
        except PayloadError as exc:
            message_problem = str(exc)
    answer = await preview(domain.redis, domain.keys, domain.clock, domain.settings, topic)
    since = await domain.clock.now_ms() - 7 * DAY_MS
    quiet = sum([len(found) async for found in never_opted_in(domain.redis, domain.keys, topic, since)])
    return web.json_response({**answer, "never_opted_in_7_days": quiet, "message_problem": message_problem})


@api.route("GET", "/api/stats/not-opted-in", "Shoppers who messaged or commented in the last days but never opted "
           "in to the topic (no campaign can reach them), most recent first",
           response=schemas.NOT_OPTED_IN,
           query=(*DAYS, ("topic", schemas.TOPIC, False),
                  ("limit", {"type": "integer", "minimum": 1, "maximum": QUIET_LIST_MAX, "default": 100}, False)))
async def not_opted_in(request: web.Request) -> web.Response:
    days, limit = request.query.get("days", "7"), request.query.get("limit", "100")
    domain = _domain(request)
    topic = request.query.get("topic") or domain.settings.optin_topic
    since = await domain.clock.now_ms() - int(days) * DAY_MS
    found = [q async for batch in never_opted_in(domain.redis, domain.keys, topic, since) for q in batch]
    found.sort(key=lambda q: q.last_action_ms, reverse=True)
    shown = found[: int(limit)]
    names = await (await _names(request)).names([q.psid for q in shown])
    return web.json_response({"topic": topic, "days": int(days), "count": len(found), "shoppers": [
        {"psid": q.psid, "name": names.get(q.psid), "last_action_ms": q.last_action_ms,
         "last_action_at": iso(q.last_action_ms)} for q in shown]})


@api.route("GET", "/api/shoppers", "Names of shoppers by PSID (User Profile API, cached a week)",
           response=schemas.SHOPPER_NAMES,
           query=(("psid", {"type": "array", "items": schemas.PSID, "minItems": 1, "maxItems": NAMES_MAX}, True),))
async def shopper_names(request: web.Request) -> web.Response:
    psids = list(dict.fromkeys(request.query.getall("psid", [])))
    names = await (await _names(request)).names(psids)
    return web.json_response({"shoppers": [{"psid": p, "name": names.get(p)} for p in psids]})


@api.route("POST", "/api/live-sales/{id}/links", "Link more posts or live videos to a live sale",
           body=schemas.LINKS_IN, response=schemas.SALE)
async def link_posts(request: web.Request) -> web.Response:
    body = await read_json(request)
    post_ids = _strings(body, "post_ids")
    domain = _domain(request)
    sale_id = request.match_info["id"]
    added = await domain.sales.link(sale_id, post_ids)
    if added == -1:
        raise not_found(f"live sale {sale_id}")
    if added == -2:
        raise conflict(f"live sale {sale_id} has ended; link posts to a sale that is scheduled or live")
    sale = await domain.sales.get(sale_id)
    assert sale is not None
    view: dict[str, Any] = await domain.sale_view(sale)
    return web.json_response(view)
