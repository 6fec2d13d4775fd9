"""The products of a live sale: code, title, price, image, and variants each with a quantity.

A product's code is what shoppers comment ("SOLD 12", "mine A01 M"): 1-16 letters and digits
with at least one digit, kept upper-cased. Variants (sizes, colours) are letters only, 1-10
(``M``, ``XL``, ``RED``), so a comment's variant never reads as its quantity
(:mod:`live_sales.claim_words`); a product without variants has one lot of its own quantity.
Each variant is a **lot** (``<code>|<VARIANT>``, ``<code>|`` without variants) with its stock;
units held by claims are counted beside it (:mod:`live_sales.claim_scripts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.keys import Keys
from bot.scripts import register_script

from . import claim_scripts
from .keys import SaleKeys
from .model import text

CODE = re.compile(r"^(?=[A-Z0-9]*\d)[A-Z0-9]{1,16}$")
VARIANT = re.compile(r"^[^\W\d_]{1,10}$")
MAX_UNITS = 100_000
MAX_PRODUCTS_PER_CALL = 200
MAX_VARIANTS = 30


class ProductError(ValueError):
    """A product that cannot be stored; the message says why (the API's 422)."""


def lot_of(code: str, variant: str) -> str:
    return f"{code}|{variant}"


@dataclass(frozen=True, slots=True)
class Product:
    """One product of a sale; ``variants`` is ``(name, quantity)`` pairs, empty for a single lot."""

    code: str
    title: str
    price: float | None
    currency: str
    image_url: str
    variants: tuple[tuple[str, int], ...]
    quantity: int  # the stock of a product without variants (else the sum, for reading)

    def lots(self) -> list[tuple[str, int]]:
        if self.variants:
            return [(lot_of(self.code, name), units) for name, units in self.variants]
        return [(lot_of(self.code, ""), self.quantity)]

    def variant_named(self, name: str) -> str | None:
        """The variant a comment means (case-insensitive), '' for a product without variants, else None."""
        if not self.variants:
            return "" if not name else None
        if not name:
            return self.variants[0][0] if len(self.variants) == 1 else None
        return next((v for v, _ in self.variants if v == name.upper()), None)

    def to_redis(self) -> str:
        return json.dumps({"code": self.code, "title": self.title, "price": self.price, "currency": self.currency,
                           "image_url": self.image_url, "variants": [list(v) for v in self.variants],
                           "quantity": self.quantity}, ensure_ascii=False)

    @classmethod
    def from_redis(cls, raw: str | bytes) -> Product:
        d = json.loads(raw)
        return cls(code=d["code"], title=d["title"], price=d["price"], currency=d["currency"],
                   image_url=d["image_url"], variants=tuple((v, int(n)) for v, n in d["variants"]),
                   quantity=int(d["quantity"]))


def _units(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNITS:
        raise ProductError(f"{what} must be a whole number from 0 to {MAX_UNITS}")
    return value


def product_from_json(body: Any) -> Product:
    """A product from the API's JSON; ProductError with the reason if a field is missing or wrong."""
    if not isinstance(body, dict):
        raise ProductError("each product must be an object {code, title, price, variants | quantity}")
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or not CODE.match(code.strip().upper()):
        raise ProductError("code must be 1-16 letters and digits with at least one digit (e.g. 12, A01)")
    code = code.strip().upper()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 80:
        raise ProductError(f"{code}: title must be 1-80 characters")
    price = body.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float)) or not 0 <= price < 1e9):
        raise ProductError(f"{code}: price must be a number from 0")
    currency = body.get("currency", "")
    if not isinstance(currency, str) or (currency and not re.match(r"^[A-Z]{3}$", currency)):
        raise ProductError(f"{code}: currency must be three capital letters (PHP, USD)")
    image = body.get("image_url", "")
    if not isinstance(image, str) or (image and not image.startswith("https://")):
        raise ProductError(f"{code}: image_url must be an https:// URL")
    raw_variants = body.get("variants")
    variants: list[tuple[str, int]] = []
    if raw_variants is not None:
        if not isinstance(raw_variants, list) or not 1 <= len(raw_variants) <= MAX_VARIANTS:
            raise ProductError(f"{code}: variants must be a list of 1-{MAX_VARIANTS} {{name, quantity}}")
        for v in raw_variants:
            name = v.get("name") if isinstance(v, dict) else None
            if not isinstance(name, str) or not VARIANT.match(name.strip()):
                raise ProductError(f"{code}: a variant's name must be 1-10 letters (M, XL, RED)")
            variants.append((name.strip().upper(), _units(v.get("quantity"), f"{code} {name}: quantity")))
        if len({n for n, _ in variants}) != len(variants):
            raise ProductError(f"{code}: a variant is named twice")
        if "quantity" in body:
            raise ProductError(f"{code}: give quantity per variant, not for the product")
        quantity = sum(n for _, n in variants)
    else:
        quantity = _units(body.get("quantity"), f"{code}: quantity")
    return Product(code=code, title=title.strip(), price=float(price) if price is not None else None,
                   currency=currency, image_url=image, variants=tuple(variants), quantity=quantity)


class ProductStore:
    """The products and stock of the sales of one Page."""

    def __init__(self, redis: Redis, keys: Keys, script_args: list[str | int]) -> None:
        self._redis = redis
        self._keys = SaleKeys.of(keys)
        self._script_args = script_args  # prefix, settle ms, hold ms (:mod:`live_sales.claim_scripts`)
        self._add = register_script(redis, claim_scripts.ADD_PRODUCTS)
        self._set_stock = register_script(redis, claim_scripts.SET_STOCK)

    async def add(self, sale_id: str, products: Sequence[Product]) -> str | None:
        """Store them all, or none: returns the code already there, else None."""
        args: list[str | int] = [self._keys.prefix]
        for p in products:
            args += [p.code, p.to_redis(), len(p.lots())]
            for lot, units in p.lots():
                args += [lot, units]
        outcome, detail = await self._add(
            keys=[self._keys.sale_products(sale_id), self._keys.sale_stock(sale_id)], args=args)
        return text(detail) if text(outcome) == "exists" else None

    async def get(self, sale_id: str, code: str) -> Product | None:
        raw = await self._redis.hget(self._keys.sale_products(sale_id), code.upper())
        return Product.from_redis(raw) if raw else None

    async def all(self, sale_id: str) -> list[Product]:
        raw = await self._redis.hvals(self._keys.sale_products(sale_id))
        return sorted((Product.from_redis(r) for r in raw), key=lambda p: (len(p.code), p.code))

    async def stock(self, sale_id: str) -> tuple[dict[str, int], dict[str, int]]:
        """(units per lot, units held by claims per lot)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.sale_stock(sale_id))
            pipe.hgetall(self._keys.sale_taken(sale_id))
            stock, taken = await pipe.execute()
        return ({text(k): int(v) for k, v in stock.items()}, {text(k): int(v) for k, v in taken.items()})

    async def set_stock(self, sale_id: str, lot: str, units: int) -> tuple[str, int]:
        """Set a lot's units; freed units go to its waitlist. ``(set | below_taken | unknown_lot, taken)``."""
        outcome, taken = await self._set_stock(
            keys=[self._keys.sale_stock(sale_id), self._keys.sale_taken(sale_id), self._keys.window],
            args=[*self._script_args, sale_id, lot, units])
        return text(outcome), int(taken)

    async def view(self, sale_id: str) -> list[dict[str, Any]]:
        """Each product with its stock, units taken and left, per variant (the API's list)."""
        stock, taken = await self.stock(sale_id)
        rows = []
        for p in await self.all(sale_id):
            lots: list[dict[str, Any]] = [{"name": lot.split("|", 1)[1] or None, "quantity": stock.get(lot, 0),
                     "taken": taken.get(lot, 0), "left": max(0, stock.get(lot, 0) - taken.get(lot, 0))}
                    for lot, _ in p.lots()]
            rows.append({"code": p.code, "title": p.title, "price": p.price, "currency": p.currency or None,
                         "image_url": p.image_url or None,
                         "variants": [v for v in lots if v["name"]] if p.variants else [],
                         "quantity": sum(v["quantity"] for v in lots), "taken": sum(v["taken"] for v in lots),
                         "left": sum(v["left"] for v in lots)})
        return rows
