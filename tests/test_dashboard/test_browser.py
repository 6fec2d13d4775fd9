"""The dashboard and the sandbox chat in Debian's Chromium, against a real ``salebell serve``.

One browser per module; each test its own server, Page and browser context; every wait bounded.
"""

from __future__ import annotations

import re
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

from tests.test_dashboard.flows import (
    SLOW_MS,
    create_sale,
    get_started,
    join_chat,
    progress,
    sign_in,
    start_sale,
    subscribe,
)

WATCH = "https://shop.test/live/denim"


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_host_runs_a_sale_from_a_phone(chromium: Any, served: ServedBot) -> None:
    context = new_context(chromium, PHONE)
    for name in ("Ana Cruz", "Ben Reyes", "Cara Lim"):  # three subscribers, made through the chat page
        shopper = join_chat(context, served.url, name)
        get_started(shopper)
        subscribe(shopper)
        shopper.close()
    host = context.new_page()
    sign_in(host, served.url)
    assert no_sideways_scroll(host)
    sale = create_sale(host, "Denim drop", WATCH)
    expect(host.locator("#fanout-state")).to_have_text("not started")
    start_sale(host, sale)
    expect(host.locator("#fanout-state")).to_have_text("done", timeout=SLOW_MS)
    expect(progress(host, "eligible")).to_have_text("3")
    expect(progress(host, "sent")).to_have_text("3", timeout=SLOW_MS)
    expect(progress(host, "delivered")).to_have_text("3", timeout=SLOW_MS)
    expect(progress(host, "skipped")).to_have_text("0")
    expect(host.locator(f"article[data-sale='{sale}'] .badge")).to_have_text("live")
    assert no_sideways_scroll(host)
    host.click("nav.tabs a[data-tab=numbers]")
    expect(host.locator("#numbers svg.chart").first).to_be_visible()
    day_sent = served.call("GET", "/api/stats?days=7", admin=True)["totals"]["sent"]  # replies count too
    assert day_sent >= 3
    expect(host.locator("[data-kpi=sent] .n")).to_have_text(str(day_sent))
    expect(host.locator(f"#sale-numbers tr[data-sale='{sale}'] td").nth(3)).to_have_text("3")
    host.click("nav.tabs a[data-tab=subscribers]")
    expect(host.locator("#subscribers tbody tr")).to_have_count(3)
    host.fill("#sub-search", "ben")
    expect(host.locator("#subscribers tbody tr")).to_have_count(1)
    expect(host.locator("#subscribers tbody tr td").first).to_have_text("Ben Reyes")
    host.click("header form.signout button")
    expect(host).to_have_url(re.compile(r"/dashboard/sign-in$"))
    host.goto(served.url + "/dashboard/")
    expect(host).to_have_url(re.compile(r"/dashboard/sign-in$"))  # the session is gone
    context.close()


def test_shopper_goes_from_get_started_to_watch_now(chromium: Any, served: ServedBot) -> None:
    context = new_context(chromium, PHONE)
    ana = join_chat(context, served.url, "Ana Cruz")
    get_started(ana)
    subscribe(ana)
    psid = ana.url.split("psid=")[1]
    ana.reload()  # the history survives a reload, from the sandbox's own record
    expect(ana.locator(".msg.page").filter(has_text="welcome").first).to_be_visible()
    expect(ana.locator(".msg.me").filter(has_text="Get Started")).to_be_visible()
    sale = served.call("POST", "/api/live-sales", {"title": "Denim drop", "url": WATCH}, admin=True)
    served.call("POST", f"/api/live-sales/{sale['id']}/start", {}, admin=True)
    watch = ana.locator(".msg.page a", has_text="Watch now")
    expect(watch).to_be_visible(timeout=SLOW_MS)
    assert watch.get_attribute("href") == WATCH
    second = context.new_page()  # another tab: another shopper
    second.goto(served.url + "/sandbox/")
    expect(second.locator("#name")).to_be_visible()
    assert psid not in second.url
    context.close()


def test_a_person_answers_from_the_page_inbox(chromium: Any, served: ServedBot) -> None:
    context = new_context(chromium, DESKTOP)
    ana = join_chat(context, served.url, "Ana Cruz")
    ana.fill("#text", "pwede po ba gcash?")
    ana.press("#text", "Enter")
    expect(ana.locator(".msg.me").filter(has_text="gcash")).to_be_visible()
    inbox = context.new_page()
    inbox.goto(served.url + "/sandbox/page-inbox")
    inbox.locator("#people button", has_text="Ana Cruz").click()
    expect(inbox.locator("#messages .shopper").filter(has_text="gcash")).to_be_visible()
    inbox.fill("#text", "Yes po, GCash is fine!")
    inbox.press("#text", "Enter")
    expect(ana.locator(".msg.page").filter(has_text="GCash is fine")).to_be_visible(timeout=SLOW_MS)
    psid = ana.url.split("psid=")[1]
    wait_for(lambda: served.call("GET", "/api/needs-human", admin=True)["count"] == 0, what="the flag cleared")
    assert psid
    context.close()


def test_web_only_serves_the_dashboard_and_previews_a_blast(chromium: Any, served_web_only: ServedBot) -> None:
    context = new_context(chromium, DESKTOP)
    page = context.new_page()
    page.goto(served_web_only.url + "/dashboard/sign-in")
    page.fill("#token", "wrong")
    page.click("form button[type=submit]")
    expect(page.locator(".alert")).to_have_text("That is not the admin token of this deployment.")
    sign_in(page, served_web_only.url)
    sale = create_sale(page, "Friday restock", WATCH)
    expect(page.locator(f"article[data-sale='{sale}']")).to_be_visible()
    page.click("nav.tabs a[data-tab=blasts]")
    page.fill("#blast-text", "Restock at 9 tonight!")
    page.click("#blast-check")
    expect(page.locator("[data-preview=reached]")).to_have_text("Would reach 0 of 0")
    expect(page.locator("#blast-send")).to_be_enabled()
    context.close()


def test_sales_list_reads_without_javascript(chromium: Any, served_web_only: ServedBot) -> None:
    served_web_only.call("POST", "/api/live-sales", {"title": "No-JS sale", "url": WATCH}, admin=True)
    context = chromium.new_context(java_script_enabled=False, viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, served_web_only.url)
    expect(page.locator("#sales table")).to_contain_text("No-JS sale")
    expect(page.locator("noscript, .alert").first).to_be_attached()
    context.close()


def test_chat_renders_every_template_as_messenger_labels_it(chromium: Any, served: ServedBot) -> None:
    context = new_context(chromium, PHONE)
    page = join_chat(context, served.url, "Tina Tan")
    psid = page.url.split("psid=")[1]
    page.fill("#text", "hello")
    page.press("#text", "Enter")  # opens the window for what the Page sends below
    expect(page.locator(".msg.me").filter(has_text="hello")).to_be_visible()
    messages = [
        {"attachment": {"type": "template", "payload": {"template_type": "button", "text": "Live at 8 PM!", "buttons": [
            {"type": "web_url", "url": "https://shop.test/live", "title": "Watch"},
            {"type": "postback", "title": "Remind me", "payload": "OPTIN_YES"}]}}},
        {"attachment": {"type": "template", "payload": {"template_type": "generic", "elements": [
            {"title": "Red dress", "subtitle": "₱499", "buttons": [{"type": "postback", "title": "Claim", "payload": "C1"}]},
            {"title": "Blue jeans", "subtitle": "₱799"}]}}},
        {"attachment": {"type": "template", "payload": {"template_type": "notification_messages", "title": "Weekly deals",
                                                        "payload": "{}", "notification_messages_cta_text": "GET"}}},
        {"attachment": {"type": "template", "payload": {"template_type": "one_time_notif_req",
                                                        "title": "Size M back in stock", "payload": "M"}}},
        {"text": "Anything else?", "quick_replies": [{"content_type": "text", "title": "Next live?", "payload": "NEXT_LIVE"}]},
    ]
    for message in messages:
        served.call("POST", "/sandbox/graph/v25.0/me/messages?access_token=sandbox-page-token",
                    {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message})
    expect(page.locator(".card a.btn", has_text="Watch")).to_have_attribute("href", "https://shop.test/live")
    expect(page.locator(".card button.btn", has_text="Remind me")).to_be_visible()
    expect(page.locator(".cards .card")).to_have_count(2)
    expect(page.locator("button[data-optin='Weekly deals']")).to_have_text("Get messages")
    expect(page.locator(".optin", has_text="Size M back in stock").locator("button")).to_have_text("Notify me")
    quick = page.locator(".choices button", has_text="Next live?")
    quick.click()  # quick replies belong to the latest message: tapped first
    expect(page.locator(".msg.me").filter(has_text="Next live?")).to_be_visible()
    page.locator(".optin", has_text="Size M back in stock").locator("button").click()
    expect(page.locator(".msg.me").filter(has_text="subscribed: Size M back in stock")).to_be_visible()
    expect(page.locator(".optin", has_text="Size M back in stock").locator("button")).to_have_text("✓ Notify me")
    context.close()
