"""What a notification says: a "Watch now" button for a sale, the host's text for a blast.

Each notification carries two bodies: ``message`` for the Send API (inside the
window, or with a legacy or OTN token) and ``marketing_message`` for the Marketing
Message API, which takes only ``web_url`` buttons (at most 3) and is shown as a
card, so it is a one-element generic template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.graph import payloads

from .model import Broadcast, LiveSale

WATCH_NOW = "Watch now"
CARD_TITLE_MAX = 80
BUTTON_TEXT_MAX = 640


@dataclass(frozen=True, slots=True)
class Notification:
    """The two bodies of one campaign's notification (the same for every recipient)."""

    message: dict[str, Any]
    marketing_message: dict[str, Any]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def for_sale(sale: LiveSale) -> Notification:
    """"<title> is live now" with a Watch now button to the sale's URL."""
    button = payloads.web_url_button(WATCH_NOW, sale.url)
    body = _short(f"We're live: {sale.title}! Join now for live-only deals.", BUTTON_TEXT_MAX)
    card = payloads.generic_element(_short(sale.title, CARD_TITLE_MAX), subtitle="We're live now", buttons=[button])
    return Notification(payloads.button_template(body, [button]), payloads.generic_template([card]))


def for_reminder(sale: LiveSale) -> Notification:
    """"Starting in 1 hour: <title>", with a button to the sale's URL when it has one."""
    body = _short(f"Starting in {_duration(sale.reminder_minutes)}: {sale.title}! See you live.",
                  BUTTON_TEXT_MAX)
    if not sale.url:
        message = payloads.text(body)
        return Notification(message, message)
    button = payloads.web_url_button("Join the live", sale.url)
    card = payloads.generic_element(_short(sale.title, CARD_TITLE_MAX),
                                    subtitle=f"Starting in {_duration(sale.reminder_minutes)}", buttons=[button])
    return Notification(payloads.button_template(body, [button]), payloads.generic_template([card]))


def _duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def check_fits(blast: Broadcast, marketing_path: str) -> None:
    """PayloadError when the blast's text would not go out whole on its route (nothing is ever cut):
    with a link it is a button template (text up to 640) on the Send API, and a card (title up to 80)
    on the Marketing Message API (issue 14: a 318-character blast went out as its first 80)."""
    if not blast.url:
        return
    if len(blast.text) > BUTTON_TEXT_MAX:
        raise payloads.PayloadError(f"text: {len(blast.text)} characters; a message with a link holds at most "
                                    f"{BUTTON_TEXT_MAX} (send it without the link, or shorten it)")
    if marketing_path == "marketing_api" and len(blast.text) > CARD_TITLE_MAX:
        raise payloads.PayloadError(f"text: {len(blast.text)} characters; on the Marketing Message API a message "
                                    f"with a link is a card whose text holds at most {CARD_TITLE_MAX} "
                                    f"(send it without the link, or shorten it)")


def for_broadcast(blast: Broadcast) -> Notification:
    """The host's text; with a URL, a button to it (a card on the Marketing Message API)."""
    if not blast.url:
        message = payloads.text(blast.text)
        return Notification(message, message)
    button = payloads.web_url_button(blast.button_title or "Open", blast.url)
    card = payloads.generic_element(_short(blast.text, CARD_TITLE_MAX), buttons=[button])
    return Notification(payloads.button_template(_short(blast.text, BUTTON_TEXT_MAX), [button]),
                        payloads.generic_template([card]))


def check_url(url: str) -> str | None:
    """Why the URL cannot be a button's, or None when it can."""
    try:
        payloads.web_url_button(WATCH_NOW, url)
    except payloads.PayloadError as exc:
        return str(exc)
    return None
