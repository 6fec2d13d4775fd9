"""Built-in handlers that keep the consent ledger true to what shoppers told Meta.

``messaging_optins`` events take effect at once, before any dialogue runs: a new
opt-in stores (or replaces) the token with its topic, path and time zone; STOP
and RESUME flip its status; an OTN opt-in stacks one single-use token. The topic
comes from the opt-in request's payload (``{"topic": ...}``), else the configured one.
"""

from __future__ import annotations

import json
import logging

from .consent import ConsentStore
from .events import MarketingOptinEvent, OtnOptinEvent
from .handlers import HandlerRegistry
from .settings import Settings
from .shopper_regions import ShopperRegions

log = logging.getLogger(__name__)

registry = HandlerRegistry()


def topic_of(payload: str | None, default: str) -> str:
    """The topic named in an opt-in payload (JSON ``{"topic": ...}`` or a bare word), else ``default``."""
    if not payload:
        return default
    try:
        data = json.loads(payload)
    except ValueError:
        data = payload
    if isinstance(data, dict) and isinstance(data.get("topic"), str) and data["topic"].strip():
        return str(data["topic"]).strip()
    if isinstance(data, str) and data.strip() and "|" not in data and len(data) <= 64:
        return data.strip()
    return default


@registry.on("marketing_optin")
async def record_marketing_optin(event: MarketingOptinEvent, consent: ConsentStore, settings: Settings,
                                 regions: ShopperRegions) -> None:
    topic = topic_of(event.payload, settings.optin_topic)
    await regions.record_timezone(event.psid, event.timezone or "")  # where the shopper is (bot.regions)
    if event.status == "STOP_NOTIFICATIONS":
        if not await consent.set_status(event.psid, topic, "stopped", event.token):
            # A token we never heard of: record it as stopped, so it is never used.
            await consent.opt_in(event.psid, topic, event.token, path=settings.marketing_path,
                                 timezone=event.timezone or "", at_ms=event.timestamp, status="stopped")
        log.info("shopper stopped topic %s", topic)
        return
    if event.status == "RESUME_NOTIFICATIONS":
        if not await consent.set_status(event.psid, topic, "active", event.token):
            await consent.opt_in(event.psid, topic, event.token, path=settings.marketing_path,
                                 timezone=event.timezone or "", at_ms=event.timestamp)
        return
    await consent.opt_in(event.psid, topic, event.token, path=settings.marketing_path,
                         timezone=event.timezone or "", at_ms=event.timestamp)


@registry.on("otn_optin")
async def record_otn_optin(event: OtnOptinEvent, consent: ConsentStore, settings: Settings) -> None:
    await consent.add_otn(event.psid, topic_of(event.payload, settings.optin_topic), event.token,
                          created_ms=event.timestamp)
