"""What a shopper and a host do in the browser, step by step (the browser tests and the screenshots share them)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.test_dashboard.browser import TOKEN

SLOW_MS = 20_000  # a fan-out or a receipt: generous, never a speed claim


def join_chat(context: Any, url: str, name: str) -> Any:
    """A new tab on the sandbox chat, signed up as ``name``."""
    page = context.new_page()
    page.goto(url + "/sandbox")
    page.fill("#name", name)
    page.click("#signup button")
    expect(page.locator("#compose")).to_be_visible()
    expect(page.locator("#who")).to_have_text(name)
    return page


def get_started(page: Any) -> None:
    page.click("#start")
    expect(page.locator(".msg.page").filter(has_text="welcome").first).to_be_visible(timeout=SLOW_MS)


def subscribe(page: Any) -> None:
    """Tap the opt-in card's button (labelled as the request said)."""
    button = page.locator(".optin button[data-optin]").last
    expect(button).to_have_text("Get daily messages", timeout=SLOW_MS)
    button.click()
    expect(page.locator(".msg.me").filter(has_text="subscribed").first).to_be_visible(timeout=SLOW_MS)
    expect(page.locator(".msg.page").filter(has_text="subscribed").first).to_be_visible(timeout=SLOW_MS)


def sign_in(page: Any, url: str, token: str = TOKEN) -> None:
    page.goto(url + "/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in$"))
    page.fill("#token", token)
    page.click("form button[type=submit]")
    expect(page.locator("nav.tabs")).to_be_visible()


def create_sale(page: Any, title: str, watch_url: str) -> str:
    page.click("nav.tabs a[data-tab=sales]")
    expect(page.locator("#sale-list > *").first).to_be_visible()  # the list loaded (it opens the form if empty)
    if not page.locator("#sale-title").is_visible():
        page.click("#sale-new summary")
    page.fill("#sale-title", title)
    page.fill("#sale-url", watch_url)
    page.click("#sale-form button[type=submit]")
    detail = page.locator("[data-detail]")
    expect(detail).to_be_visible()
    return str(detail.get_attribute("data-detail"))


def start_sale(page: Any, sale_id: str) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"article[data-sale='{sale_id}'] button[data-action=start]")


def progress(page: Any, name: str) -> Any:
    return page.locator(f"#sale-progress [data-n={name}]")
