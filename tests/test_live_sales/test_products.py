"""A sale's products over the admin API and the CLI: add one or many, list with stock left, set stock, 4xx."""

from __future__ import annotations

import json

from tests.test_live_sales.conftest import Shop
from tests.test_live_sales.test_cli import salebell

JACKET = {"code": "12", "title": "Denim jacket", "price": 899, "currency": "PHP",
          "image_url": "https://shop.test/12.jpg", "variants": [{"name": "s", "quantity": 2}, {"name": "M", "quantity": 3}]}
TOTE = {"code": "a01", "title": "Tote bag", "quantity": 10}


async def test_products_are_added_listed_and_their_stock_set(shop: Shop) -> None:
    sale = await shop.sale()
    added = await shop.api("POST", f"/api/live-sales/{sale}/products", JACKET, status=201)
    assert [p["code"] for p in added["products"]] == ["12"]
    many = await shop.api("POST", f"/api/live-sales/{sale}/products",
                          {"products": [TOTE, {"code": "B7", "title": "Cap", "quantity": 1}]}, status=201)
    assert [p["code"] for p in many["products"]] == ["12", "B7", "A01"]
    listed = (await shop.api("GET", f"/api/live-sales/{sale}/products"))["products"]
    jacket = listed[0]
    assert jacket["variants"] == [{"name": "S", "quantity": 2, "taken": 0, "left": 2},
                                  {"name": "M", "quantity": 3, "taken": 0, "left": 3}]
    assert (jacket["quantity"], jacket["left"], jacket["price"], jacket["currency"]) == (5, 5, 899, "PHP")
    tote = await shop.api("PATCH", f"/api/live-sales/{sale}/products/a01", {"quantity": 4})
    assert (tote["quantity"], tote["left"], tote["variants"]) == (4, 4, [])
    jacket = await shop.api("PATCH", f"/api/live-sales/{sale}/products/12", {"variant": "m", "quantity": 7})
    assert [v["quantity"] for v in jacket["variants"]] == [2, 7]


async def test_product_validation_answers_404_409_and_422(shop: Shop) -> None:
    sale = await shop.sale()
    base = f"/api/live-sales/{sale}/products"
    for bad, reason in (({"title": "x", "quantity": 1}, "code must be"),
                        ({"code": "ABC", "title": "x", "quantity": 1}, "code must match"),
                        ({"code": "12", "quantity": 1}, "title must be"),
                        ({"code": "12", "title": "x"}, "quantity must be"),
                        ({"code": "12", "title": "x", "quantity": -1}, "quantity must be"),
                        ({"code": "12", "title": "x", "quantity": True}, "quantity must be"),
                        ({"code": "12", "title": "x", "quantity": 1, "price": "cheap"}, "price must be"),
                        ({"code": "12", "title": "x", "quantity": 1, "image_url": "http://x.test/a.jpg"}, "https"),
                        ({"code": "12", "title": "x", "variants": [{"name": "38", "quantity": 1}]}, "variants[0].name must match"),
                        ({"code": "12", "title": "x", "variants": [{"name": "M", "quantity": 1}] * 2}, "twice"),
                        ({"code": "12", "title": "x", "variants": []}, "variants needs at least 1"),
                        ({"products": []}, "products needs at least 1"),
                        ({"products": [TOTE, TOTE]}, "given twice")):
        answer = await shop.api("POST", base, bad, status=422)
        assert reason in answer["error"]["message"], (bad, answer)
    await shop.api("POST", "/api/live-sales/ls-404/products", TOTE, status=404)
    await shop.api("POST", base, TOTE, status=201)
    assert "already has product A01" in (await shop.api("POST", base, {"products": [JACKET, TOTE]}, 409))["error"][
        "message"]
    assert [p["code"] for p in (await shop.api("GET", base))["products"]] == ["A01"]  # all or nothing
    await shop.api("PATCH", f"{base}/Z99", {"quantity": 1}, status=404)
    await shop.api("PATCH", f"{base}/A01", {"quantity": -2}, status=422)
    await shop.api("PATCH", f"{base}/A01", {"quantity": "5"}, status=422)
    await shop.api("PATCH", f"{base}/A01", {"quantity": 5, "variant": "M"}, status=422)
    await shop.api("POST", base, JACKET, status=201)
    await shop.api("PATCH", f"{base}/12", {"quantity": 5}, status=422)  # which variant?
    await shop.api("PATCH", f"{base}/12", {"quantity": 5, "variant": "XL"}, status=404)


async def test_the_cli_adds_lists_and_stocks_products(shop: Shop) -> None:
    sale = await shop.sale()
    code, out, err = await salebell(shop, "products", "add", sale, "--code", "12", "--title", "Denim jacket",
                                    "--price", "899", "--variant", "S=2", "--variant", "M=3")
    assert code == 0, err
    assert "Denim jacket" in out and "S" in out
    code, out, err = await salebell(shop, "products", "add", sale, "--code", "A01", "--title", "Tote",
                                    "--quantity", "10", "--json")
    assert code == 0, err
    assert [p["code"] for p in json.loads(out)["products"]] == ["12", "A01"]
    code, out, err = await salebell(shop, "products", "stock", sale, "12", "5", "--variant", "M")
    assert code == 0, err
    code, out, err = await salebell(shop, "products", "list", sale)
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["12", "M", "Denim", "jacket", "899.0", "5", "0", "5"] in lines
    code, out, err = await salebell(shop, "products", "add", sale, "--code", "A01", "--title", "Tote")
    assert code == 1 and "already has product A01" in err
