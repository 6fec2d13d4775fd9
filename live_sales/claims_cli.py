"""``salebell products add|list|stock`` and ``salebell claims`` (through the admin API, :mod:`bot.admin_client`).

    salebell products add ls-1 --code 12 --title "Denim jacket" --price 899 --variant S=2 --variant M=3
    salebell products add ls-1 --code A01 --title "Tote" --quantity 10
    salebell products import ls-1 products.csv      # code,title,price,currency,image_url,variant,quantity
    salebell products list ls-1
    salebell products stock ls-1 12 --variant M 5
    salebell claims ls-1 [--status waitlisted] [--code 12]
    salebell claims ls-1 --paid <claim id> [--confirm] | --cancel <claim id>
    salebell claims ls-1 --follow [--interval 1] [--timeout 0]   # a line per new or changed claim, until the sale ends
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.admin_client import AdminClient, CliError
from bot.cli import command
from bot.settings import Settings

from . import tables
from .claims_api import MAX_LIMIT as MAX_LISTED
from .cli import _connection, _print, _run
from .product_csv import CsvError, products_from_csv
from .products import MAX_PRODUCTS_PER_CALL


def _variant(raw: str) -> dict[str, Any]:
    name, _, units = raw.partition("=")
    if not name or not units.isdigit():
        raise argparse.ArgumentTypeError(f"a variant is NAME=QUANTITY (e.g. M=3), got {raw!r}")
    return {"name": name, "quantity": int(units)}


def _products_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a product to a sale")
    add.add_argument("sale")
    add.add_argument("--code", required=True, help="what shoppers comment: SOLD <code>")
    add.add_argument("--title", required=True)
    add.add_argument("--price", type=float)
    add.add_argument("--currency")
    add.add_argument("--image", help="an https:// image URL")
    add.add_argument("--quantity", type=int, help="units, for a product without variants")
    add.add_argument("--variant", action="append", type=_variant, default=[], help="NAME=QUANTITY (repeatable)")
    upload = actions.add_parser("import", help="add a sale's products from a CSV file (all or none)")
    upload.add_argument("sale")
    upload.add_argument("file", type=Path, help="columns code,title,quantity and optionally price,currency,"
                        "image_url,variant; a row per product or per variant (live_sales/product_csv.py)")
    listing = actions.add_parser("list", help="a sale's products with stock left")
    listing.add_argument("sale")
    stock = actions.add_parser("stock", help="set a product's (or a variant's) stock")
    stock.add_argument("sale")
    stock.add_argument("code")
    stock.add_argument("quantity", type=int)
    stock.add_argument("--variant")
    for sub in actions.choices.values():
        _connection(sub)


def _products_table(products: list[dict[str, Any]]) -> str:
    rows = []
    for p in products:
        for v in p["variants"] or [None]:
            row = v or p
            rows.append([p["code"], (v or {}).get("name"), p["title"][:30], p["price"], row["quantity"],
                         row["taken"], row["left"]])
    return tables.table(["code", "variant", "title", "price", "stock", "claimed", "left"], rows) if rows \
        else "no products"


async def _products(client: AdminClient, args: argparse.Namespace) -> Any:
    path = f"/api/live-sales/{args.sale}/products"
    if args.action == "add":
        if args.variant and args.quantity is not None:
            raise CliError(0, "give --quantity or --variant NAME=QUANTITY, not both")
        body: dict[str, Any] = {"code": args.code, "title": args.title}
        body.update({k: v for k, v in (("price", args.price), ("currency", args.currency),
                                       ("image_url", args.image)) if v is not None})
        if args.variant:
            body["variants"] = args.variant
        else:
            body["quantity"] = args.quantity if args.quantity is not None else 1
        answer = await client.call("POST", path, body)
    elif args.action == "import":
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            raise CliError(0, f"cannot read {args.file}: {exc.strerror}") from None
        try:
            products_from_csv(data, MAX_PRODUCTS_PER_CALL)  # the row's mistake named before any call
        except CsvError as exc:
            raise CliError(0, f"{args.file}: {exc}") from None
        answer = await client.call("POST", f"{path}/import", data=data, content_type="text/csv")
    elif args.action == "stock":
        body = {"quantity": args.quantity, **({"variant": args.variant} if args.variant else {})}
        product = await client.call("PATCH", f"{path}/{args.code}", body)
        _print(args, _products_table([product]))
        return product
    else:
        answer = await client.call("GET", path)
    _print(args, _products_table(answer["products"]))
    return answer


@command("products", "A live sale's products: add, list, stock (through the admin API)", _products_arguments)
def products(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _products)


def _claims_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sale")
    parser.add_argument("--status", choices=("pending", "claimed", "waitlisted", "released", "paid", "cancelled"))
    parser.add_argument("--code", help="only this product's claims")
    parser.add_argument("--paid", metavar="CLAIM_ID", help="mark a claim paid")
    parser.add_argument("--cancel", metavar="CLAIM_ID", help="cancel a claim (its units go to the waitlist)")
    parser.add_argument("--confirm", action="store_true",
                        help="with --paid: send the shopper the order confirmation (an order update)")
    parser.add_argument("--follow", action="store_true",
                        help="after the list, a line per new or changed claim until the sale ends (or Ctrl-C)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks with --follow")
    parser.add_argument("--timeout", type=float, default=0, help="stop following after this many seconds")
    _connection(parser)


async def _claims(client: AdminClient, args: argparse.Namespace) -> Any:
    base = f"/api/live-sales/{args.sale}/claims"
    if args.paid or args.cancel:
        claim_id, status = (args.paid, "paid") if args.paid else (args.cancel, "cancelled")
        if args.confirm and not args.paid:
            raise CliError(0, "--confirm goes with --paid")
        answer = await client.call("PATCH", f"{base}/{claim_id}",
                                   {"status": status, **({"confirm": True} if args.confirm else {})})
        _print(args, f"{claim_id}: " + (status if answer["changed"] else f"already {answer['status']}"))
        if "order_update" in answer:
            order = answer["order_update"]
            _print(args, "order confirmation " + ("queued" if order["queued"] else "already queued")
                   + (", with the opt-in card" if order.get("optin_offered") else ""))
        return answer
    query = "&".join(f"{k}={v}" for k, v in (("status", args.status), ("code", args.code),
                                             ("limit", MAX_LISTED if args.follow else None)) if v)
    listing = base + (f"?{query}" if query else "")
    answer = await client.call("GET", listing)
    rows = [[c["claim_id"], c["code"], c["variant"], c["quantity"], c["status"], c["waitlist_position"],
             c["name"] or c["psid"], c["comment_at"]] for c in answer["claims"]]
    _print(args, (tables.table(["claim", "code", "variant", "qty", "status", "waitlist", "shopper", "comment at"],
                               rows) + "\n" if rows else "") + _counts(answer))
    if args.follow:
        return await _follow_claims(client, args, listing, answer)
    return answer


def _counts(answer: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in answer["counts"].items() if v) or "no claims"


def _change_line(claim: dict[str, Any]) -> str:
    """``A01 M x2  waitlisted #3  Ana  (claim 123_456, comment 2026-12-05T19:00:03Z)``."""
    what = " ".join(str(p) for p in (claim["code"], claim["variant"] or "",
                                     f"x{claim['quantity']}" if claim["quantity"] > 1 else "") if p)
    status = claim["status"] + (f" #{claim['waitlist_position']}" if claim["waitlist_position"] else "") \
        + (f" ({claim['reason']})" if claim["reason"] else "")
    return f"{what}  {status}  {claim['name'] or claim['psid']}  (claim {claim['claim_id']}, comment " \
           f"{claim['comment_at']})"


def _state(claim: dict[str, Any]) -> tuple[Any, ...]:
    return claim["status"], claim["waitlist_position"], claim["reason"]


async def _follow_claims(client: AdminClient, args: argparse.Namespace, listing: str,
                         answer: dict[str, Any]) -> dict[str, Any]:
    """Look every ``--interval`` s; print each claim that is new or changed status, waitlist place or reason.
    Ends when the sale has ended and no claim is pending, or after ``--timeout`` s (Ctrl-C: exit 130)."""
    seen = {c["claim_id"]: _state(c) for c in answer["claims"]}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout if args.timeout else None
    while True:
        sale = await client.call("GET", f"/api/live-sales/{args.sale}")
        answer = await client.call("GET", listing)
        for claim in answer["claims"]:
            if seen.get(claim["claim_id"]) != _state(claim):
                seen[claim["claim_id"]] = _state(claim)
                _print(args, _change_line(claim))
        if sale["status"] == "ended" and not answer["counts"].get("pending"):
            _print(args, f"{args.sale} has ended: {_counts(answer)}")
            return answer
        if deadline is not None and loop.time() >= deadline:
            return answer
        await asyncio.sleep(max(0.1, args.interval))


@command("claims", "A live sale's claims; mark one paid or cancelled (through the admin API)", _claims_arguments)
def claims(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _claims)
