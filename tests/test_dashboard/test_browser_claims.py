"""The dashboard's Claims panel in Debian's Chromium, against a real ``salebell serve`` (sandbox): a host imports
a sale's products from a CSV file, watches claims by comment come in live, marks one paid and cancels one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_dashboard.browser import DESKTOP, PHONE, ServedBot, in_ci, wait_for
from tests.test_dashboard.conftest import new_context

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the test extra; in CI it is installed, so this fails there
    if in_ci():
        raise
    pytest.skip("playwright is not installed (pip install -e '.[test]')", allow_module_level=True)

from tests.test_dashboard.flows import SLOW_MS, sign_in

PRODUCTS = b"code,title,price,variant,quantity\n12,Denim jacket,899,,1\nA01,Tote,250,S,2\nA01,,,M,1\n"


def comment(served: ServedBot, post: str, name: str, text: str, seconds_ago: int) -> tuple[str, str]:
    """A new shopper comments, ``seconds_ago`` back: (their PSID, the comment id)."""
    psid = served.call("POST", "/sandbox/shoppers", {"name": name})["psid"]
    now = served.call("GET", "/sandbox/clock")["now_ms"]
    body = {"psid": psid, "message": text, "timestamp": now - seconds_ago * 1000}
    return psid, str(served.call("POST", f"/sandbox/posts/{post}/comments", body)["comment_id"])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_host_imports_products_and_follows_claims_live(chromium: Any, served: ServedBot,
                                                       viewport: dict[str, int]) -> None:
    post = served.call("POST", "/sandbox/posts", {"message": "Live selling now!"})["post_id"]
    sale = served.call("POST", "/api/live-sales", {"title": "Denim drop", "url": "https://shop.test/live",
                                                 "post_ids": [post]}, admin=True)["id"]
    served.call("POST", f"/api/live-sales/{sale}/start", {}, admin=True)
    context = new_context(chromium, viewport)
    host = context.new_page()
    sign_in(host, served.url)
    host.click("nav.tabs a[data-tab=claims]")
    expect(host.locator("#claims-sale")).to_have_value(sale)
    expect(host.locator("#claim-products")).to_contain_text("No products yet")
    host.set_input_files("#products-csv", files=[{"name": "products.csv", "mimeType": "text/csv", "buffer": PRODUCTS}])
    host.click("#products-import button[type=submit]")
    expect(host.locator("#claim-products tr[data-lot='12|'] [data-n=left]")).to_have_text("1")
    expect(host.locator("#claim-products tr[data-lot='A01|M'] [data-n=stock]")).to_have_text("1")
    host.set_input_files("#products-csv", files=[{"name": "again.csv", "mimeType": "text/csv", "buffer": PRODUCTS}])
    host.click("#products-import button[type=submit]")
    expect(host.locator("#claims-message")).to_contain_text("already has product 12")  # all or none, said why

    ana_psid, ana = comment(served, post, "Ana Cruz", "SOLD 12", seconds_ago=20)
    _, ben = comment(served, post, "Ben Reyes", "mine po 12", seconds_ago=10)
    claimed, waiting = host.locator(f"tr[data-claim='{ana}']"), host.locator(f"tr[data-claim='{ben}']")
    expect(claimed).to_have_attribute("data-status", "claimed", timeout=SLOW_MS)  # polled in, no reload
    expect(waiting).to_have_attribute("data-status", "waitlisted", timeout=SLOW_MS)
    expect(waiting).to_contain_text("#1")
    expect(host.locator("#claim-products tr[data-lot='12|'] [data-n=left]")).to_have_text("0")
    claimed.locator("button[data-action=paid]").click()
    expect(claimed).to_have_attribute("data-status", "paid")
    expect(host.locator("#claims-confirm")).to_be_checked()  # so Ana got the order confirmation
    wait_for(lambda: "is confirmed" in json.dumps(served.call("GET", f"/sandbox/shoppers/{ana_psid}/inbox")),
             what="the order confirmation in Ana's inbox")
    host.once("dialog", lambda dialog: dialog.accept())
    waiting.locator("button[data-action=cancelled]").click()
    expect(waiting).to_have_attribute("data-status", "cancelled")
    expect(host.locator("[data-claims=comments]")).to_have_text("2 claim comments")
    expect(host.locator("[data-claims=paid]")).to_have_text("1 paid")
    expect(host.locator("[data-claims=cancelled]")).to_have_text("1 cancelled")
    expect(host.locator("[data-claims=sent]")).to_have_text("2 answers sent", timeout=SLOW_MS)
    host.select_option("#claims-status", "paid")
    expect(host.locator("#claims-table tbody tr")).to_have_count(1)
    assert bool(host.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))
    context.close()
