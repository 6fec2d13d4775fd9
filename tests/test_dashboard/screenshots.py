"""Screenshots of every page for the README: ``python -m tests.test_dashboard.screenshots [--out docs]``.

Starts ``salebell serve`` in sandbox mode on a Page of its own (REDIS_URL, default the local db 15), plays a
few shoppers and two days of live sales through the sandbox and the admin API, then photographs the
dashboard and the sandbox pages in Debian's Chromium (phone 390x844 and desktop), and cleans up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from tests.test_dashboard.browser import CHROMIUM_ARGS, DESKTOP, PHONE, ServedBot, find_chromium, wait_for
from tests.test_dashboard.flows import SLOW_MS, sign_in

TITLE = "Get daily reminders"
WATCH = "https://www.facebook.com/denimhouse/live"


def card_arrived(bot: ServedBot, psid: str) -> bool:
    inbox = bot.call("GET", f"/sandbox/shoppers/{psid}/inbox")["messages"]
    return any("notification_messages" in json.dumps(m["message"]) for m in inbox)


def subscriber(bot: ServedBot, name: str) -> str:
    psid = str(bot.call("POST", "/sandbox/shoppers", {"name": name})["psid"])
    bot.call("POST", f"/sandbox/shoppers/{psid}/postbacks", {"title": "Get Started"})
    wait_for(lambda: card_arrived(bot, psid), what=f"{name}'s opt-in card")
    bot.call("POST", f"/sandbox/shoppers/{psid}/optins", {"title": TITLE})
    return psid


def run_sale(bot: ServedBot, title: str) -> str:
    sale = bot.call("POST", "/api/live-sales", {"title": title, "url": WATCH}, admin=True)["id"]
    bot.call("POST", f"/api/live-sales/{sale}/start", {}, admin=True)
    wait_for(lambda: bot.call("GET", f"/api/live-sales/{sale}", admin=True)["fanout"]["complete"], what=f"{sale} done")
    return str(sale)


def in_three_days(bot: ServedBot) -> str:
    """Noon UTC three days after the deployment clock's now (a sale scheduled in the past is refused)."""
    now = datetime.fromtimestamp(bot.call("GET", "/sandbox/clock")["now_ms"] / 1000, tz=timezone.utc)
    return (now + timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()


def seed(bot: ServedBot) -> dict[str, Any]:
    """Two days of a small shop: subscribers, one who stopped, one who never opted in, two sales."""
    # pages of the chat use the Messenger look; emoji need a colour font (Debian: fonts-noto-color-emoji)
    psids = {name: subscriber(bot, name) for name in ("Ana Cruz", "Ben Reyes", "Cara Lim", "Dan Uy")}
    bot.call("POST", f"/sandbox/shoppers/{psids['Dan Uy']}/notifications", {"title": TITLE, "action": "stop"})
    run_sale(bot, "Denim drop: Tuesday")
    bot.call("POST", "/sandbox/clock", {"advance_seconds": 25 * 3600})
    quiet = str(bot.call("POST", "/sandbox/shoppers", {"name": "Eve Santos"})["psid"])
    bot.call("POST", f"/sandbox/shoppers/{quiet}/messages", {"text": "magkano po yung red dress?"})
    bot.call("POST", f"/sandbox/shoppers/{psids['Ana Cruz']}/messages", {"text": "LIVE po"})
    wait_for(lambda: len(bot.call("GET", f"/sandbox/shoppers/{quiet}/inbox")["messages"]) >= 1, what="a reply")
    psids["Fe Garcia"] = subscriber(bot, "Fe Garcia")
    wait_for(lambda: len(bot.call("GET", f"/sandbox/shoppers/{psids['Fe Garcia']}/inbox")["messages"]) >= 3,
             what="Fe's confirmation")
    gia = str(bot.call("POST", "/sandbox/shoppers", {"name": "Gia Tan"})["psid"])
    bot.call("POST", f"/sandbox/shoppers/{gia}/messages", {"text": "can I talk to a real person po?"})
    wait_for(lambda: bot.call("GET", f"/sandbox/shoppers/{gia}")["thread_owner"] == "page_inbox", what="handover")
    bot.call("POST", f"/sandbox/shoppers/{gia}/messages", {"text": "my order C-3 came in the wrong size"})
    psids["Gia Tan"] = gia
    second = run_sale(bot, "Denim drop: Wednesday")
    bot.call("POST", "/api/live-sales", {"title": "Weekend sale", "url": WATCH,
                                         "scheduled_at": in_three_days(bot)}, admin=True)
    return {"psids": psids, "quiet": quiet, "sale": second}


def shoot(page: Any, path: Path) -> None:
    page.wait_for_timeout(300)  # let the last poll paint
    page.screenshot(path=str(path))
    print(f"{path}: {path.stat().st_size // 1024} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs", help="folder for the PNG files (default: docs)")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium found: install the Debian package chromium (or set SALEBELL_CHROMIUM)")
    bot = ServedBot().start()
    profile = tempfile.mkdtemp(prefix="salebell-shots-")
    try:
        seeded = seed(bot)
        with sync_playwright() as pw:
            persistent = pw.chromium.launch_persistent_context(profile, executable_path=chromium, args=CHROMIUM_ARGS,
                                                               headless=True)
            browser = persistent.browser
            phone, desktop = browser.new_context(viewport=PHONE), browser.new_context(viewport=DESKTOP)
            for context in (phone, desktop):
                context.set_default_timeout(SLOW_MS)

            page = phone.new_page()
            page.goto(bot.url + "/dashboard/sign-in")
            shoot(page, out / "dashboard-sign-in-phone.png")
            sign_in(page, bot.url)
            page.goto(bot.url + f"/dashboard/#sales/{seeded['sale']}")
            expect(page.locator("#fanout-state")).to_have_text("done")
            page.locator("[data-detail]").scroll_into_view_if_needed()
            shoot(page, out / "dashboard-sale-done-phone.png")
            page.goto(bot.url + "/dashboard/#numbers")
            expect(page.locator("#numbers svg.chart").first).to_be_visible()
            shoot(page, out / "dashboard-numbers-phone.png")

            page = desktop.new_page()
            sign_in(page, bot.url)
            page.goto(bot.url + "/dashboard/#sales")
            expect(page.locator("article.sale").first).to_be_visible()
            shoot(page, out / "dashboard-sales.png")
            page.goto(bot.url + "/dashboard/#numbers")
            expect(page.locator("#numbers svg.chart").first).to_be_visible()
            shoot(page, out / "dashboard-numbers.png")
            page.goto(bot.url + "/dashboard/#subscribers")
            expect(page.locator("#subscribers tbody tr").first).to_be_visible()
            expect(page.locator("#subscribers tbody tr td").first).not_to_have_text("—")
            shoot(page, out / "dashboard-subscribers.png")
            page.goto(bot.url + "/dashboard/#blasts")
            page.fill("#blast-text", "Restock at 9 tonight: the red dress is back in every size! 🎉")
            page.fill("#blast-url", "https://shop.example/restock")
            page.fill("#blast-button", "Shop now")
            page.click("#blast-check")
            expect(page.locator("[data-preview=reached]")).to_be_visible()
            shoot(page, out / "dashboard-blast-preview.png")
            page.goto(bot.url + "/dashboard/#conversations")
            card = page.locator(f"article.conversation[data-psid='{seeded['psids']['Gia Tan']}']")
            expect(card.locator("ol.messages li")).to_have_count(3)
            card.locator("textarea").fill("Hi Gia, so sorry! We'll send the M today. Can you send a photo of the tag?")
            shoot(page, out / "dashboard-conversations.png")

            chat = phone.new_page()
            chat.goto(bot.url + f"/sandbox/?psid={seeded['psids']['Fe Garcia']}")
            expect(chat.locator(".msg.page a", has_text="Watch now").first).to_be_visible()
            chat.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            shoot(chat, out / "sandbox-chat-phone.png")
            inbox = desktop.new_page()
            inbox.goto(bot.url + f"/sandbox/page-inbox?psid={seeded['quiet']}")
            expect(inbox.locator("#messages .shopper").first).to_be_visible()
            inbox.fill("#text", "Hi Eve! The red dress is ₱499 po. Type LIVE for a reminder before our next live.")
            inbox.press("#text", "Enter")
            expect(inbox.locator("#messages .page:not(.bot)")).to_be_visible()
            shoot(inbox, out / "sandbox-page-inbox.png")
            persistent.close()
    finally:
        bot.stop()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
