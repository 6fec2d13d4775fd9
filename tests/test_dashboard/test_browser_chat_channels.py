"""The sandbox chat page's channel switch in Debian's Chromium, against a real ``salebell serve`` (issue 15):
a shopper switches to Instagram, writes "LIVE" and gets the opt-in card on the Instagram channel; switching
back brings the tab's Messenger shopper again; and a new tab can start on Instagram."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.test_dashboard.browser import PHONE, ServedBot, in_ci
from tests.test_dashboard.conftest import new_context

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the test extra; in CI it is installed, so this fails there
    if in_ci():
        raise
    pytest.skip("playwright is not installed (pip install -e '.[test]')", allow_module_level=True)

from tests.test_dashboard.flows import SLOW_MS, join_chat


def psid_of(page: Any) -> str:
    return str(page.url.split("psid=")[1])


def test_the_switch_moves_the_chat_to_instagram_and_live_gets_the_card_there(chromium: Any,
                                                                             served: ServedBot) -> None:
    context = new_context(chromium, PHONE)
    page = join_chat(context, served.url, "Ina Cruz")
    expect(page.locator("#psid")).to_have_text(re.compile(r"^PSID \d+ · on Messenger$"))
    expect(page.locator("#channel button[data-channel=messenger]")).to_have_attribute("aria-pressed", "true")
    on_messenger = psid_of(page)

    page.click("#channel button[data-channel=instagram]")
    expect(page.locator("#psid")).to_have_text(re.compile(r"^IGSID \d+ · on Instagram$"))
    expect(page.locator("#channel button[data-channel=instagram]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("body")).to_have_attribute("data-channel", "instagram")
    on_instagram = psid_of(page)
    assert on_instagram != on_messenger
    shopper = served.call("GET", f"/sandbox/shoppers/{on_instagram}")
    assert (shopper["channel"], shopper["name"]) == ("instagram", "Ina Cruz")  # the same person, on Instagram

    page.fill("#text", "LIVE")
    page.press("#text", "Enter")
    expect(page.locator(".msg.me").filter(has_text="LIVE")).to_be_visible()
    card = page.locator(".msg.page").filter(has=page.locator(".optin"))
    expect(card).to_have_count(1, timeout=SLOW_MS)
    expect(card.locator(".meta")).to_contain_text("instagram")  # answered through the Instagram endpoint
    expect(card.locator("button[data-optin]")).to_have_text("Get daily messages")  # read from elements[0]
    [sent] = [m for m in served.call("GET", f"/sandbox/shoppers/{on_instagram}/inbox")["messages"]
              if m["message"].get("attachment")]
    assert sent["via"] == "instagram" and "elements" in sent["message"]["attachment"]["payload"]
    assert served.call("GET", f"/sandbox/shoppers/{on_messenger}/inbox")["messages"] == []  # nothing on Messenger

    page.reload()  # the tab stays on Instagram
    expect(page.locator("#psid")).to_have_text(re.compile(r"^IGSID \d+ · on Instagram$"))
    page.click("#channel button[data-channel=messenger]")  # back: the tab's Messenger shopper, not a new one
    expect(page.locator("#psid")).to_have_text(f"PSID {on_messenger} · on Messenger")
    expect(page.locator(".optin")).to_have_count(0)
    page.click("#channel button[data-channel=instagram]")
    expect(page.locator("#psid")).to_have_text(f"IGSID {on_instagram} · on Instagram")
    expect(page.locator(".optin")).to_have_count(1)
    context.close()


def test_a_new_tab_can_start_on_instagram(chromium: Any, served: ServedBot) -> None:
    context = new_context(chromium, PHONE)
    page = context.new_page()
    page.goto(served.url + "/sandbox/")
    page.fill("#name", "Iris")
    page.check("#signup input[value=instagram]")
    page.click("#signup button")
    expect(page.locator("#psid")).to_have_text(re.compile(r"^IGSID \d+ · on Instagram$"))
    expect(page.locator("#start")).to_be_hidden()  # Get Started is Messenger's
    assert served.call("GET", f"/sandbox/shoppers/{psid_of(page)}")["channel"] == "instagram"
    context.close()
