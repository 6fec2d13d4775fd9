"""The fallback: a message with no intent gets an answer, and a person is asked to look.

Not an intent (``none`` is the spotter's fallback label), only the action the engine runs
for it: ``FALLBACK_TEXT`` (the ``fallback_text`` slot), at most once per shopper per
``FALLBACK_QUIET_HOURS`` and never while a human has the thread; the engine flags the
conversation for the Page inbox at the same time (:mod:`dialogue.needs_human`). A
shop's own intents package may declare an action of the same name to answer differently.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.kit import fact


class ActionDefaultFallback(Action):
    """``FALLBACK_TEXT``, unless it is switched off (``none``)."""

    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = str(fact(tracker, "fallback_text", "") or "")
        if text and text.lower() not in ("none", "off"):
            dispatcher.utter_message(text=text)
        return []
