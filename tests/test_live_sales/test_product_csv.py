"""A sale's products from a CSV file (live_sales/product_csv.py): the reader alone, then the import route and
``salebell products import`` against a served bot on a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from live_sales.product_csv import CsvError, products_from_csv
from tests.test_live_sales.conftest import TOKEN, Shop
from tests.test_live_sales.test_cli import salebell

SHEET = """code,title,price,currency,image_url,variant,quantity
12,Denim jacket,899,PHP,https://shop.test/12.jpg,S,2
12,,,,,M,3

a01,Tote bag,250,php,,,10
"""


def test_a_row_per_variant_makes_one_product_with_its_variants() -> None:
    assert products_from_csv(SHEET.encode(), 200) == [
        {"code": "12", "title": "Denim jacket", "price": 899.0, "currency": "PHP",
         "image_url": "https://shop.test/12.jpg", "variants": [{"name": "S", "quantity": 2},
                                                              {"name": "M", "quantity": 3}]},
        {"code": "A01", "title": "Tote bag", "price": 250.0, "currency": "PHP", "quantity": 10},
    ]


def test_a_spreadsheets_export_reads_the_same_in_any_column_order_case_and_separator() -> None:
    semicolons = "\ufeffQTY;Code;Title;Price\r\n1.000;B7;Cap;1.299,50\r\n"  # decimal commas, a BOM
    assert products_from_csv(semicolons.encode(), 200) == [
        {"code": "B7", "title": "Cap", "price": 1299.5, "quantity": 1000}]
    commas = 'Title,code,quantity,price\n"Cap, red",B7,"1,000","1,299.50"\n'
    assert products_from_csv(commas.encode(), 200)[0] == {"code": "B7", "title": "Cap, red", "price": 1299.5,
                                                          "quantity": 1000}


@pytest.mark.parametrize("sheet, reason", [
    (b"", "empty"),
    (b"code,title,quantity\n", "no products"),
    (b"code,title,stock\n12,x,1\n", "unknown column 'stock'"),
    (b"code,title\n12,x\n", "'quantity' is missing"),
    (b"code,title,quantity,Code\n12,x,1,12\n", "named twice"),
    (b"code,title,quantity\n12,x,1\n12,x,2\n", "row 3: product 12 is given twice (row 2)"),
    (b"code,title,variant,quantity\n12,x,S,1\n12,y,M,2\n", "row 3: product 12's title differs from row 2"),
    (b"code,title,quantity\n12,x,lots\n", "row 2: quantity 'lots' is not a number"),
    (b"code,title,quantity\n12,x,1.5\n", "not a whole number"),
    (b"code,title,quantity\n12,x,\n", "row 2: quantity is empty"),
    (b"code,title,quantity\n,x,1\n", "row 2: code is empty"),
    (b"code,title,quantity\n12,x,1,extra\n", "row 2: 4 fields"),
    (b"code,title,quantity\n12,caf\xe9,1\n", "UTF-8"),
    (b"code,title,quantity\n1,a,1\n2,b,1\n3,c,1\n", "row 4: more than 2 products"),
])
def test_a_file_that_does_not_read_as_products_names_the_row(sheet: bytes, reason: str) -> None:
    with pytest.raises(CsvError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        products_from_csv(sheet, 2)


async def upload(shop: Shop, sale: str, sheet: bytes, status: int) -> dict:
    resp = await shop.client.post(f"/api/live-sales/{sale}/products/import", data=sheet,
                                  headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"})
    assert resp.status == status, await resp.text()
    answer: dict = await resp.json()
    return answer


async def test_the_import_route_adds_all_products_of_a_file_or_none(shop: Shop) -> None:
    sale = await shop.sale()
    added = await upload(shop, sale, SHEET.encode(), 201)
    assert [(p["code"], p["quantity"], p["left"]) for p in added["products"]] == [("12", 5, 5), ("A01", 10, 10)]
    refused = await upload(shop, sale, b"code,title,quantity\nB7,Cap,3\nA01,Tote,1\n", 409)
    assert "already has product A01" in refused["error"]["message"]
    bad = await upload(shop, sale, b"code,title,quantity\nC9,Hat,-1\n", 422)
    assert "quantity must be" in bad["error"]["message"]
    bad = await upload(shop, sale, b"code;title\n", 422)
    assert "'quantity' is missing" in bad["error"]["message"]
    listed = (await shop.api("GET", f"/api/live-sales/{sale}/products"))["products"]
    assert [p["code"] for p in listed] == ["12", "A01"]  # nothing of the refused files
    await upload(shop, "ls-404", SHEET.encode(), 404)


async def test_the_cli_imports_a_file_and_names_the_row_of_a_mistake(shop: Shop, tmp_path: Path) -> None:
    sale = await shop.sale()
    good, bad = tmp_path / "products.csv", tmp_path / "bad.csv"
    good.write_text(SHEET)
    bad.write_text("code,title,quantity\n12,Jacket,1\n12,Jacket,2\n")
    code, out, err = await salebell(shop, "products", "import", sale, str(good))
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["12", "M", "Denim", "jacket", "899.0", "3", "0", "3"] in lines and ["A01", "-", "Tote", "bag", "250.0",
                                                                                "10", "0", "10"] in lines
    code, out, err = await salebell(shop, "products", "import", sale, str(bad))
    assert code == 1 and "bad.csv: row 3: product 12 is given twice (row 2)" in err
    code, out, err = await salebell(shop, "products", "import", sale, str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err
