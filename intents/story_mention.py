"""A shopper mentioned the shop in their Instagram story: a short thank-you (issue 15).

Not an intent (a mention has no words to spot), only the action the engine runs for an Instagram
message whose attachment is a ``story_mention`` (:attr:`bot.events.MessageEvent.story_mention`) and
that says nothing else. Meta delivers the mention as a message in the account's inbox (its
story-mention page [C]); whether it opens the 24-hour window is not documented [U]: the bot treats it
as the shopper's message, as Meta's webhook is one, so the answer goes inside that window. A shop's
own intents package may declare an action of the same name to answer differently.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.kit import fact


class ActionStoryMention(Action):
    """Thanks; to a shopper not subscribed (and who never told us to stop), how to get live reminders."""

    def name(self) -> str:
        return "action_story_mention"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = "Thank you so much for the mention! 💛"
        if not fact(tracker, "subscribed", False) and not fact(tracker, "opted_out", False):
            keyword = fact(tracker, "optin_keyword", "LIVE")
            text += f" Reply {keyword} here to get a reminder before our next live sale."
        dispatcher.utter_message(text=text)
        return []
