"""A sale's products from a CSV file (a spreadsheet's export): one row per product, or per variant.

    code,title,price,currency,image_url,variant,quantity
    12,Denim jacket,899,PHP,https://shop.example/12.jpg,S,2
    12,Denim jacket,899,PHP,,M,3
    A01,Tote,250,PHP,,,10

- The first row names the columns, in any order and any case; ``code``, ``title`` and ``quantity``
  are required, ``price``, ``currency``, ``image_url`` (or ``image``) and ``variant`` are not, and
  any other column is refused (a typo would otherwise drop a field silently).
- Rows with the same code are one product, a variant per row; a product's title, price, currency
  and image may be given on its first row only, and a later row may not contradict them.
- A row without a variant is a product without variants; a code given twice without one is refused.
- Commas or semicolons separate the fields; in a semicolon-separated file (what a spreadsheet writes
  in a locale with decimal commas) a comma is the decimal mark (``899,50``). UTF-8, with or without a
  byte-order mark; blank lines are skipped.

:func:`products_from_csv` gives the products as the API's JSON bodies, or a :class:`CsvError`
naming the row; each product is then checked as any other (:func:`live_sales.products.product_from_json`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

REQUIRED = ("code", "title", "quantity")
OPTIONAL = ("price", "currency", "image_url", "variant")
ALIASES = {"image": "image_url", "qty": "quantity", "size": "variant"}
SHARED = ("title", "price", "currency", "image_url")  # a product's, not a variant's


class CsvError(ValueError):
    """A CSV file that does not read as products; the message names the row (the API's 422)."""


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the CSV file must be UTF-8 (save it as \"CSV UTF-8\")") from None


def _columns(header: list[str]) -> list[str]:
    columns = [ALIASES.get(c.strip().lower(), c.strip().lower()) for c in header]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise CsvError(f"row 1: unknown column {unknown[0]!r}; the columns are "
                       + ", ".join(REQUIRED + OPTIONAL))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise CsvError(f"row 1: the column {missing[0]!r} is missing")
    if len(set(columns)) != len(columns):
        raise CsvError("row 1: a column is named twice")
    return columns


def _number(value: str, what: str, row: int, *, whole: bool, decimal_comma: bool) -> float | int:
    """``899``, ``1,299.50``; with ``decimal_comma`` (a semicolon-separated file) ``899,50`` and ``1.299,50``."""
    cleaned = value.replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise CsvError(f"row {row}: {what} {value!r} is not a number") from None
    if whole:
        if not number.is_integer():
            raise CsvError(f"row {row}: {what} {value!r} is not a whole number")
        return int(number)
    return number


def products_from_csv(data: bytes, max_products: int) -> list[dict[str, Any]]:
    """The products a CSV file lists, as JSON bodies in the file's order; CsvError with the row and reason."""
    text = _decode(data)
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows, None)
    if not header or not any(c.strip() for c in header):
        raise CsvError("the CSV file is empty; its first row names the columns: code, title, quantity, ...")
    columns = _columns(header)
    products: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            raise CsvError(f"row {number}: {len(cells)} fields, but the header names {len(columns)}")
        row = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns)}
        code = row["code"].upper()
        if not code:
            raise CsvError(f"row {number}: code is empty")
        if not row["quantity"]:
            raise CsvError(f"row {number}: quantity is empty")
        fields: dict[str, Any] = {"title": row["title"], "currency": row.get("currency", "").upper(),
                                  "image_url": row.get("image_url", "")}
        if row.get("price"):
            fields["price"] = _number(row["price"], "price", number, whole=False, decimal_comma=delimiter == ";")
        quantity = _number(row["quantity"], "quantity", number, whole=True, decimal_comma=delimiter == ";")
        variant = row.get("variant", "")
        product = products.get(code)
        if product is None:
            if len(products) == max_products:
                raise CsvError(f"row {number}: more than {max_products} products; split the file")
            product = products[code] = {"code": code, **{k: v for k, v in fields.items() if v != ""}}
            first_row[code] = number
            if variant:
                product["variants"] = []
            else:
                product["quantity"] = quantity
        elif "variants" not in product or not variant:
            raise CsvError(f"row {number}: product {code} is given twice (row {first_row[code]}); "
                           "give each variant its own row with its variant")
        else:
            for name in SHARED:
                if fields.get(name) not in ("", None, product.get(name)):
                    raise CsvError(f"row {number}: product {code}'s {name} differs from row {first_row[code]}")
        if variant:
            product["variants"].append({"name": variant, "quantity": quantity})
    if not products:
        raise CsvError("the CSV file lists no products")
    return list(products.values())
