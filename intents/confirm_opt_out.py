"""Confirm an uncertain opt-out: "Stop live reminders?" with Yes / No.

The spotter never labels a message with this intent; the dialogue engine runs it when
the spotter finds an opt-out likely but not certain (``Spotted.confirm``, see
:mod:`dialogue.confirm`), instead of stopping silently or saying nothing. "Yes" is the
``STOP_REMINDERS`` payload, so it opts out exactly like a certain stop (intent
``opt_out``); "No" is ``KEEP_REMINDERS``, this intent's payload, and the action then
only says the reminders stay on.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dialogue.confirm import ASKED_SLOT
from dialogue.intent import Intent
from dialogue.kit import KEEP_REMINDERS, STOP_REMINDERS, fact, quick, trigger


class ActionConfirmOptOut(Action):
    """Ask before stopping; after "No", say nothing changed."""

    def name(self) -> str:
        return "action_confirm_opt_out"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if trigger(tracker).get("payload") == KEEP_REMINDERS:
            if fact(tracker, "subscribed", False):
                dispatcher.utter_message(text="No problem — your live reminders stay on 👍")
            else:
                dispatcher.utter_message(text="No problem — nothing has changed 👍")
            return [SlotSet(ASKED_SLOT, None)]
        dispatcher.utter_message(text="Stop live reminders?",
                                 quick_replies=[quick("Yes", STOP_REMINDERS), quick("No", KEEP_REMINDERS)])
        return [SlotSet(ASKED_SLOT, int(fact(tracker, "now_ms", 0)))]


INTENT = Intent(
    name="confirm_opt_out",
    priority=90,
    action=ActionConfirmOptOut,
    payloads=(KEEP_REMINDERS,),
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
)
