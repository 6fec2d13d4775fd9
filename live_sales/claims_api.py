"""Admin routes for a sale's products and claims (``/api/live-sales/{id}/products``, ``.../claims``).

Errors: 404 unknown sale, product, variant or claim; 409 a product code added twice, stock set
below the units claims hold, a change a claim's status does not allow (paying a waitlisted claim,
anything after ``released``/``cancelled``), products added to an ended sale; 422 a wrong field, or a
CSV file that does not read as products (:mod:`live_sales.product_csv`: the message names the row).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.admin import AdminApi, conflict, field_of, invalid, not_found, read_json
from bot.graph.payloads import PayloadError
from bot.pages import page_runtime

from . import schemas
from .claim_orders import paid_order
from .claims import STATUSES, view
from .model import LiveSale
from .orders import OrderError, send_order_update
from .product_csv import CsvError, products_from_csv
from .products import MAX_PRODUCTS_PER_CALL, MAX_UNITS, ProductError, lot_of, product_from_json
from .service import LiveSales, domain_of

api = AdminApi()

CHANGES = ("paid", "cancelled")
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000  # claims listed (``counts`` always counts them all)


def _domain(request: web.Request) -> LiveSales:
    return domain_of(page_runtime(request))


async def _sale(domain: LiveSales, request: web.Request) -> LiveSale:
    sale = await domain.sales.get(request.match_info["id"])
    if sale is None:
        raise not_found(f"live sale {request.match_info['id']}")
    return sale


@api.route("POST", "/api/live-sales/{id}/products", "Add products to a live sale (one object, or {products: [...]})",
           body=schemas.PRODUCTS_IN, status=201, response=schemas.PRODUCT_LIST)
async def add_products(request: web.Request) -> web.Response:
    body = await read_json(request)
    raw = body["products"] if "products" in body else [body]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PRODUCTS_PER_CALL:
        raise invalid(f"products must be a list of 1-{MAX_PRODUCTS_PER_CALL} products")
    return await _add(request, raw)


@api.route("POST", "/api/live-sales/{id}/products/import",
           "Add products to a live sale from a CSV file (the body, text/csv: code,title,price,currency,image_url,"
           "variant,quantity; a row per product or per variant), all or none", status=201,
           response=schemas.PRODUCT_LIST)
async def import_products(request: web.Request) -> web.Response:
    try:
        raw = products_from_csv(await request.read(), MAX_PRODUCTS_PER_CALL)
    except CsvError as exc:
        raise invalid(str(exc)) from None
    return await _add(request, raw)


async def _add(request: web.Request, raw: list[Any]) -> web.Response:
    """Check every product, then add them all or none."""
    try:
        products = [product_from_json(p) for p in raw]
    except ProductError as exc:
        raise invalid(str(exc)) from None
    codes = [p.code for p in products]
    if len(set(codes)) != len(codes):
        raise invalid("a product code is given twice")
    domain = _domain(request)
    sale = await _sale(domain, request)
    if sale.status == "ended":
        raise conflict(f"live sale {sale.id} has ended; products can no longer be added")
    existing = await domain.products.add(sale.id, products)
    if existing:
        raise conflict(f"live sale {sale.id} already has product {existing}; change its stock with PATCH")
    return web.json_response({"sale_id": sale.id, "products": await domain.products.view(sale.id)}, status=201)


@api.route("GET", "/api/live-sales/{id}/products", "A live sale's products with stock, units claimed and left",
           response=schemas.PRODUCT_LIST)
async def list_products(request: web.Request) -> web.Response:
    domain = _domain(request)
    sale = await _sale(domain, request)
    return web.json_response({"sale_id": sale.id, "products": await domain.products.view(sale.id)})


@api.route("PATCH", "/api/live-sales/{id}/products/{code}",
           "Set a product's (or one variant's) stock; new units go to its waitlist", body=schemas.STOCK_IN,
           response=schemas.PRODUCT)
async def set_stock(request: web.Request) -> web.Response:
    body = await read_json(request)
    units = field_of(body, "quantity", int)
    if isinstance(units, bool) or not 0 <= units <= MAX_UNITS:
        raise invalid(f"quantity must be a whole number from 0 to {MAX_UNITS}")
    variant = field_of(body, "variant", str, required=False, default="")
    domain = _domain(request)
    sale = await _sale(domain, request)
    code = request.match_info["code"].upper()
    product = await domain.products.get(sale.id, code)
    if product is None:
        raise not_found(f"product {code} of live sale {sale.id}")
    if product.variants and not variant:
        raise invalid(f"product {code} has variants ({', '.join(v for v, _ in product.variants)}): name one")
    if not product.variants and variant:
        raise invalid(f"product {code} has no variants")
    outcome, taken = await domain.products.set_stock(sale.id, lot_of(code, variant.upper()), units)
    if outcome == "unknown_lot":
        raise not_found(f"variant {variant} of product {code}")
    if outcome == "below_taken":
        raise conflict(f"{taken} units of {code} {variant}".rstrip() + " are held by claims; "
                       f"cancel claims before setting the stock below {taken}")
    view = next(p for p in await domain.products.view(sale.id) if p["code"] == code)
    return web.json_response(view)


@api.route("GET", "/api/live-sales/{id}/claims", "A live sale's claims in comment-time order",
           response=schemas.CLAIM_LIST,
           query=(("status", "string", False), ("code", "string", False), ("limit", "integer", False)))
async def list_claims(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status must be one of " + ", ".join(STATUSES))
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    domain = _domain(request)
    sale = await _sale(domain, request)
    claims = await domain.claims.of_sale(sale.id)
    code = request.query.get("code")
    if code:
        claims = [c for c in claims if c["code"] == code.upper()]
    counts: dict[str, int] = {s: 0 for s in STATUSES}
    for c in claims:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    shown = [c for c in claims if status is None or c["status"] == status][:int(raw_limit)]
    return web.json_response({"sale_id": sale.id, "counts": counts, "claims": shown})


@api.route("PATCH", "/api/live-sales/{id}/claims/{claim_id}",
           "Mark a claim paid or cancelled (a cancel frees its units to the waitlist)", body=schemas.CLAIM_CHANGE,
           response=schemas.CLAIM)
async def change_claim(request: web.Request) -> web.Response:
    body = await read_json(request)
    to = field_of(body, "status", str)
    if to not in CHANGES:
        raise invalid("status must be paid or cancelled")
    domain = _domain(request)
    sale = await _sale(domain, request)
    claim_id = request.match_info["claim_id"]
    claim = await domain.claims.get(claim_id)
    if claim is None or claim["sale"] != sale.id:
        raise not_found(f"claim {claim_id} of live sale {sale.id}")
    confirm = field_of(body, "confirm", bool, required=False, default=False)
    if confirm and to != "paid":
        raise invalid("confirm goes with status paid")
    outcome, before = await domain.claims.change(claim_id, to)
    if outcome == "refused":
        raise conflict(f"claim {claim_id} is {before}; it cannot be marked {to}")
    after: Any = await domain.claims.get(claim_id)
    answer = {**view(after), "changed": outcome == "changed"}
    if confirm:  # also when it was paid already: a retried request queues nothing twice (the job id is the order's)
        product = await domain.products.get(sale.id, after["code"])
        try:
            answer["order_update"] = await send_order_update(domain, paid_order(after, product))
        except (OrderError, PayloadError) as exc:
            raise invalid(str(exc)) from None
    return web.json_response(answer)
