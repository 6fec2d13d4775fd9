"""Order updates: one transactional message to one shopper, and the opt-in offer of a confirmed order.

The message goes with purpose ``transactional``: inside the 24-hour window as a
normal UPDATE, else with the POST_PURCHASE_UPDATE tag when tags are on (the
policy decides; a receipt or a shipping status, never a promotion). When the
order is confirmed, the shopper is not subscribed to the topic and the window is
open, the opt-in card ("Get daily reminders") follows as a separate
``optin_request`` (the POS flow of Botcake); its weekly limit still applies.

Both job ids derive from the order (and the text), so a retried request queues nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from bot.graph import payloads
from bot.outbox import SendJob
from bot.policy import WINDOW_MS

from .service import LiveSales

ORDER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    psid: str
    order_id: str
    text: str
    confirmed: bool = False
    topic: str | None = None


def update_job_id(update: OrderUpdate) -> str:
    digest = hashlib.blake2b(update.text.encode(), digest_size=6).hexdigest()
    return f"order.{update.order_id}.{update.psid}.{digest}"


async def send_order_update(domain: LiveSales, update: OrderUpdate) -> dict[str, Any]:
    """Queue the update (and maybe the opt-in offer); says what was queued and why no offer was."""
    message = payloads.text(update.text)  # PayloadError (the caller's 422) when empty or too long
    job = SendJob(id=update_job_id(update), purpose="transactional", psid=update.psid, message=message)
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
    last_action = int(await domain.redis.hget(domain.keys.window, update.psid) or 0)
    if not last_action or await domain.clock.now_ms() - last_action >= WINDOW_MS:
        return None, "outside_window"
    title = domain.settings.optin_title
    card = payloads.notification_messages_request(title, json.dumps({"topic": topic}))
    return SendJob(id=f"optin.order.{update.order_id}.{update.psid}", purpose="optin_request", psid=update.psid,
                   title=title, message=card), ""
