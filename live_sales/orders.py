"""Order updates: one transactional message to one shopper, and the opt-in offer of a confirmed order.

An update is structured — the order, a status from a fixed list, its items, the total, a tracking
link — and rendered from a template here, so what goes out as an order update cannot be an ad
(issue 14: "FLASH SALE 50% OFF" went out under POST_PURCHASE_UPDATE). It goes with purpose
``transactional``: inside the 24-hour window as a normal UPDATE; outside it as a utility message
from the Page's approved template for its status when ``UTILITY_MESSAGES_ENABLED``
(:mod:`live_sales.order_templates`: the job carries the template and its parameters), else with
the POST_PURCHASE_UPDATE tag when tags are on (the policy decides). A ``note`` in the shop's own
words may be added only inside the window: the request is refused (422) outside it, and the job is
marked ``free_text`` so the policy refuses it if the window closes before it goes.

When the order is confirmed, the shopper is not subscribed to the topic and the window is open,
the opt-in card ("Get daily reminders") follows as a separate ``optin_request`` (the POS flow of
Botcake); its weekly limit still applies.

Both job ids derive from the order (and what the update says), so a retried request queues
nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from bot.graph import payloads
from bot.policy import in_window
from bot.send_jobs import SendJob

from .order_templates import utility_of
from .service import LiveSales

ORDER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_ITEMS, MAX_ITEM_TITLE = 20, 80

# The statuses an order update may say, and how the message puts them.
STATUSES: dict[str, str] = {
    "confirmed": "is confirmed", "packed": "is packed", "shipped": "has shipped",
    "out_for_delivery": "is out for delivery", "ready_for_pickup": "is ready for pickup",
    "delivered": "was delivered", "cancelled": "was cancelled", "refunded": "was refunded",
}


class OrderError(ValueError):
    """The update cannot be sent as asked (the API's 422)."""


@dataclass(frozen=True, slots=True)
class OrderItem:
    title: str
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    psid: str
    order_id: str
    status: str | None = None
    items: tuple[OrderItem, ...] = ()
    total: tuple[float, str] | None = None  # (amount, ISO 4217 currency)
    tracking_url: str = ""
    note: str = ""  # the shop's own words: inside the window only
    confirmed: bool = False
    topic: str | None = None

    def __post_init__(self) -> None:
        if self.status is None and not self.note:
            raise OrderError("an order update needs a status (one of " + ", ".join(STATUSES) + ") or a note")
        if self.status is not None and self.status not in STATUSES:
            raise OrderError("status must be one of " + ", ".join(STATUSES))
        if len(self.items) > MAX_ITEMS:
            raise OrderError(f"at most {MAX_ITEMS} items")
        for item in self.items:
            if not item.title.strip() or len(item.title) > MAX_ITEM_TITLE or not 1 <= item.quantity <= 999:
                raise OrderError(f"each item needs a title of 1-{MAX_ITEM_TITLE} characters and a quantity 1-999")
        if self.total is not None and (self.total[0] < 0 or not CURRENCY.match(self.total[1])):
            raise OrderError("total needs a non-negative amount and a three-letter currency code")
        if self.tracking_url and not self.tracking_url.startswith(("https://", "http://")):
            raise OrderError("tracking_url must be an http(s) URL")


def render(update: OrderUpdate) -> str:
    """The message text of an update: the template's lines, then the note (if any)."""
    lines = []
    if update.status is not None:
        lines.append(f"Your order {update.order_id} {STATUSES[update.status]}.")
        lines += [f"• {item.quantity} × {item.title.strip()}" for item in update.items]
        if update.total is not None:
            amount, currency = update.total
            lines.append(f"Total: {currency} {amount:,.2f}")
        if update.tracking_url:
            lines.append(f"Track it: {update.tracking_url}")
    else:
        lines.append(f"About your order {update.order_id}:")
    if update.note:
        lines.append(update.note)
    return "\n".join(lines)


def update_job_id(update: OrderUpdate, text: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    return f"order.{update.order_id}.{update.psid}.{digest}"


async def shopper_in_window(domain: LiveSales, psid: str) -> bool:
    last_action = await domain.runtime.window.last_action_ms(psid)
    return in_window(last_action, await domain.clock.now_ms())


async def send_order_update(domain: LiveSales, update: OrderUpdate) -> dict[str, Any]:
    """Queue the update (and maybe the opt-in offer); says what was queued and why no offer was."""
    if update.note and not await shopper_in_window(domain, update.psid):
        raise OrderError("a note in your own words can only go within 24 hours of the shopper's last message; "
                         "send the update as a status (with items, total, tracking_url) instead")
    text = render(update)
    message = payloads.text(text)  # PayloadError (the caller's 422) when too long
    job = SendJob(id=update_job_id(update, text), purpose="transactional", psid=update.psid, message=message,
                  free_text=bool(update.note), utility=utility_of(update))
    answer: dict[str, Any] = {"job_id": job.id, "queued": await domain.outbox.enqueue(job)}
    offer, reason = await _optin_offer(domain, update)
    answer["optin_offered"] = offer is not None
    if offer is not None:
        answer["optin_job_id"] = offer.id
        answer["optin_queued"] = await domain.outbox.enqueue(offer)
    else:
        answer["optin_reason"] = reason
    return answer


async def _optin_offer(domain: LiveSales, update: OrderUpdate) -> tuple[SendJob | None, str]:
    if not update.confirmed:
        return None, "not_confirmed"
    topic = update.topic or domain.settings.optin_topic
    consent = await domain.runtime.consent.consent(update.psid, topic)
    if consent.subscription is not None:
        return None, "already_subscribed" if consent.subscription.status == "active" else "stopped"
    if consent.opted_out:
        return None, "opted_out"
    if not await shopper_in_window(domain, update.psid):
        return None, "outside_window"
    title = domain.settings.optin_title
    card = payloads.notification_messages_request(title, json.dumps({"topic": topic}))
    return SendJob(id=f"optin.order.{update.order_id}.{update.psid}", purpose="optin_request", psid=update.psid,
                   title=title, message=card), ""
