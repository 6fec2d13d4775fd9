"""What an intent's rasa-sdk ``Action`` needs: payload names, the slots the engine fills, card builders.

Before every action the engine writes the facts below into the tracker's slots, so an
action stays a plain rasa-sdk action (it runs the same in-process or on a remote rasa
action server) and never reads Redis itself:

========================  ==============================================================
slot                      meaning
========================  ==============================================================
``channel``               ``chat``, ``comment`` (the answer is the one private reply),
                          ``followup`` (the scheduled nudge) or ``optin`` (a confirmation)
``subscribed``            holds an active "daily reminders" subscription (not opted out)
``stopped``               stopped the reminders in Messenger
``opted_out``             asked us (in chat) to stop every marketing message
``optin_title``/``_topic``  the opt-in card's title and topic (settings)
``optin_image_url``       image of the opt-in card, or ""
``optin_keyword``         the shop's first opt-in keyword ("LIVE")
``optin_asked_ms``        when the card with that title was last sent, 0 if never
``optin_next_ms``         from when it may be sent again (once a week), 0 if now
``now_ms``                the deployment clock
``in_window``             the 24-hour messaging window is open
``otn_allowed``           one-time notifications are on and allowed for this shopper
``asked_titles``          ``{title: ms}``: opt-in and OTN requests sent to the shopper in the last 7 days
``followup_offer``        what the follow-up offers (``FOLLOWUP_OFFER``): ``reminders`` (the card) or
                          ``otn`` (a one-time notification request)
``followup_otn_topic``    with ``otn``: the topic it asks for; ``followup_otn_title``: its title
``next_live``             ``{"title", "starts_at_ms", "url", "live"}``: the sale live now, else the next
                          scheduled one, or None
``timezone``              the shopper's time zone if known, else ""
``shop_url``              the shop's web address, or ""
``fallback_text``         the answer to a message with no intent (``FALLBACK_TEXT``)
========================  ==============================================================

The message that triggered the action is ``tracker.latest_message``; its ``metadata``
says where it came from (``source``: message, quick_reply, postback, referral, comment)
and the tapped ``payload``, if any. Which Messenger-platform channel the shopper is on
(Messenger or Instagram) is in ``tracker.sender_id`` (``ig:<IGSID>`` on Instagram, see
:mod:`bot.channels`): :func:`on_instagram` reads it, so a remote action server knows it too.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from datetime import timezone as tz_utc
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.channels import INSTAGRAM, channel_of
from bot.graph import payloads

__all__ = [
    "FACT_SLOTS", "GET_STARTED", "KEEP_REMINDERS", "NEXT_LIVE", "OPTIN_YES", "STOP_REMINDERS", "fact",
    "offer_optin", "on_instagram",
    "optin_card", "otn_card", "otn_title", "product_of", "quick", "trigger", "when",
]

# Payloads of the bot's own buttons and quick replies (and of the Messenger profile).
GET_STARTED = "GET_STARTED"
OPTIN_YES = "OPTIN_YES"
STOP_REMINDERS = "STOP_REMINDERS"
KEEP_REMINDERS = "KEEP_REMINDERS"  # "No" to "Stop live reminders?"
NEXT_LIVE = "NEXT_LIVE"

FACT_SLOTS = (
    "channel", "subscribed", "stopped", "opted_out", "optin_title", "optin_topic", "optin_image_url",
    "optin_keyword", "optin_asked_ms", "optin_next_ms", "now_ms", "in_window", "otn_allowed", "next_live",
    "timezone", "shop_url", "fallback_text", "asked_titles", "followup_offer", "followup_otn_topic",
    "followup_otn_title",
)


def fact(tracker: Tracker, name: str, default: Any = None) -> Any:
    """A slot the engine filled (without rasa-sdk's log line for a missing slot)."""
    value = tracker.slots.get(name)
    return default if value is None else value


def trigger(tracker: Tracker) -> dict[str, Any]:
    """``{"source": ..., "payload": ...}`` of the message being answered."""
    metadata = tracker.latest_message.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def on_instagram(tracker: Tracker) -> bool:
    """The shopper is on the Page's Instagram account (their sender id is an ``ig:`` key)."""
    return channel_of(tracker.sender_id) == INSTAGRAM


def quick(title: str, payload: str) -> dict[str, str]:
    """One quick reply for ``dispatcher.utter_message(text=..., quick_replies=[...])``."""
    return {"title": title, "payload": payload}


def optin_card(tracker: Tracker, source: str = "chat") -> dict[str, Any]:
    """The "Get daily reminders" opt-in request (§3.5) as a Send API message."""
    body = json.dumps({"topic": fact(tracker, "optin_topic", "daily_reminders"), "src": source},
                      separators=(",", ":"))
    return payloads.notification_messages_request(
        fact(tracker, "optin_title", "Get daily reminders"), body,
        image_url=fact(tracker, "optin_image_url") or None, timezone=fact(tracker, "timezone") or None)


def otn_title(title: str) -> str:
    """A request title as sent: cut to Messenger's 65 characters."""
    if len(title) > payloads.OPTIN_TITLE_MAX:
        title = title[: payloads.OPTIN_TITLE_MAX - 1].rstrip() + "…"
    return title


def otn_card(title: str, topic: str, **extra: str) -> dict[str, Any]:
    """A one-time notification request (§3.7); the title is cut to Messenger's 65 characters."""
    body = json.dumps({"topic": topic, **extra}, separators=(",", ":"), ensure_ascii=False)
    return payloads.one_time_notif_request(otn_title(title), body)


def when(ms: int, timezone: str = "") -> str:
    """A date and time a shopper reads: "Fri 8 May, 20:00" (in their time zone when known)."""
    zone: Any = tz_utc.utc
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    moment = datetime.fromtimestamp(ms / 1000, tz=zone)
    label = "" if timezone else " UTC"
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}{label}"


def offer_optin(dispatcher: CollectingDispatcher, tracker: Tracker, *, asked: bool, source: str = "chat") -> bool:
    """Send the opt-in card when allowed; True if it was sent.

    ``asked``: the shopper just asked for reminders, so they hear why not (already
    subscribed, or the once-a-week limit with the date it can be sent again). Unasked
    offers (Get Started, next live, the follow-up) stay quiet in those cases and never
    go to a shopper who told us to stop.
    """
    title = fact(tracker, "optin_title", "Get daily reminders")
    if fact(tracker, "subscribed", False):
        if asked:
            dispatcher.utter_message(text=f"You're subscribed to “{title}” ✅ We'll message you before each "
                                          "live sale.")
        return False
    if fact(tracker, "opted_out", False) and not asked:
        return False
    next_ms = int(fact(tracker, "optin_next_ms", 0))
    if next_ms > int(fact(tracker, "now_ms", 0)):
        if asked:
            zone = fact(tracker, "timezone", "")
            sent = when(int(fact(tracker, "optin_asked_ms", 0)), zone)
            dispatcher.utter_message(
                text=f"I sent you the “{title}” card on {sent} — scroll up and tap it to subscribe. "
                     f"Messenger lets us send it once a week, so I can send a new one from {when(next_ms, zone)}.")
        return False
    dispatcher.utter_message(json_message=optin_card(tracker, source))
    return True


_PRODUCT = re.compile(
    r"\b(?:when|once|if|pag|kapag|kung|khi|cuando|kalau|bila)\s+(?:the\s+|ang\s+|el\s+|la\s+|los\s+|las\s+)?"
    r"(?P<product>.+?)\s+(?:is|are|gets?|comes?|will be|be|na|ulit|vuelva|vuelvan|ada)\s*"
    r"(?:back|restocked|available|in stock|ulit|lagi|de nuevo|disponible|stock)\b",
    re.IGNORECASE,
)


def product_of(text: str) -> str:
    """The product a back-in-stock request names ("size M" in "notify me when size M is back"), or ""."""
    match = _PRODUCT.search(text or "")
    if not match:
        return ""
    product = re.sub(r"\s+", " ", match.group("product")).strip(" .,!?\"'")
    return product if 0 < len(product) <= 60 else ""
