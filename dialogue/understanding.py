"""What a shopper meant: a tapped payload names its intent, else the spotter reads the text."""

from __future__ import annotations

from typing import Any

from bot.events import MessageEvent, MessagingEvent, PostbackEvent, ReferralEvent

from .confirm import CONFIRM
from .intent import Intent
from .nlu import Spotter
from .stories import story_source

OPT_IN, OPT_OUT, NONE, GREETING = "opt_in_reminders", "opt_out", "none", "greeting"


class Understanding:
    def __init__(self, intents: dict[str, Intent], spotter: Spotter) -> None:
        self.intents = intents
        self.spotter = spotter
        self.payloads = {p: i.name for i in intents.values() for p in i.payloads}

    def intent_of_payload(self, payload: str | None) -> str | None:
        """The intent a payload names (``Intent.payloads``, or ``/<intent>``), if any."""
        if not payload:
            return None
        if payload in self.payloads:
            return self.payloads[payload]
        name = payload[1:] if payload.startswith("/") else ""
        return name if name in self.intents else None

    def understand(self, event: MessagingEvent) -> tuple[str, float, str | None, dict[str, Any]]:
        """(intent, confidence, text, metadata) of a message, postback or referral."""
        if isinstance(event, MessageEvent):
            by_payload = self.intent_of_payload(event.quick_reply_payload)
            if by_payload:
                return by_payload, 1.0, event.text, {"source": "quick_reply", "payload": event.quick_reply_payload}
            spotted = self.spotter.spot(event.text or "")
            source = story_source(event)
            if spotted.confirm and CONFIRM in self.intents:  # a likely stop, not a certain one: ask
                return CONFIRM, spotted.confidence, event.text, {**source, "spotted": spotted.intent}
            return spotted.intent, spotted.confidence, event.text, source
        if isinstance(event, PostbackEvent):
            name = self.intent_of_payload(event.payload)
            return name or NONE, 1.0 if name else 0.0, event.title, {"source": "postback", "payload": event.payload}
        ref = event.referral.ref if isinstance(event, ReferralEvent) and event.referral else None
        name = self.intent_of_payload(ref)
        return name or NONE, 1.0 if name else 0.0, None, {"source": "referral", "payload": ref}
