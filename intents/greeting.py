"""Greeting: an opener and nothing else ("hi", "hello po", "chào shop", "shop ơi").

Lowest priority: a greeting followed by a request takes the request's label. Its keywords
also count as filler before another intent's keyword ("hi LIVE po", "hello stop").
Vocatives alone ("kak", "sis", "shop ơi") are openers too.

The action also answers the Get Started button (payload ``GET_STARTED``): a welcome,
then the opt-in request. When the card may not go (already subscribed, asked us to
stop, sent within the week) the welcome says so instead of announcing a card that
never comes. A typed greeting gets the welcome and quick replies instead, so the card
is not pushed at every "hi".
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.intent import Intent
from dialogue.kit import GET_STARTED, NEXT_LIVE, OPTIN_YES, fact, offer_optin, quick, trigger


class ActionGreet(Action):
    """Welcome; after Get Started, the opt-in request follows."""

    def name(self) -> str:
        return "action_greeting"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        keyword = fact(tracker, "optin_keyword", "LIVE")
        if trigger(tracker).get("payload") == GET_STARTED:
            self.welcome(dispatcher, tracker, keyword)
            return []
        if fact(tracker, "subscribed", False):
            dispatcher.utter_message(text="Hi! 👋 How can we help?", quick_replies=[quick("Next live?", NEXT_LIVE)])
            return []
        dispatcher.utter_message(text=f"Hi! 👋 How can we help? Type {keyword} to get a reminder before our "
                                      "live sales.",
                                 quick_replies=[quick("Remind me", OPTIN_YES), quick("Next live?", NEXT_LIVE)])
        return []


    @staticmethod
    def welcome(dispatcher: CollectingDispatcher, tracker: Tracker, keyword: str) -> None:
        """The welcome ends on a colon only when the opt-in card follows it."""
        card = CollectingDispatcher()
        if offer_optin(card, tracker, asked=False):
            dispatcher.utter_message(text="Hi, welcome! 👋 We sell live on Facebook. Get a reminder before "
                                          "each live sale so you never miss a deal:")
            dispatcher.messages.extend(card.messages)
        elif fact(tracker, "subscribed", False):
            dispatcher.utter_message(text="Hi, welcome back! 👋 You're subscribed: we'll message you before each "
                                          "live sale.", quick_replies=[quick("Next live?", NEXT_LIVE)])
        elif fact(tracker, "opted_out", False):
            dispatcher.utter_message(text=f"Hi, welcome! 👋 We sell live on Facebook. You turned our reminders "
                                          f"off; type {keyword} any time to get them again.",
                                     quick_replies=[quick("Next live?", NEXT_LIVE)])
        else:  # the card went out this week: it is still there to tap
            title = fact(tracker, "optin_title", "Get daily reminders")
            dispatcher.utter_message(text=f"Hi, welcome! 👋 We sell live on Facebook. Tap “{title}” on the card "
                                          "above to get a reminder before each live sale.",
                                     quick_replies=[quick("Next live?", NEXT_LIVE)])


INTENT = Intent(
    name="greeting",
    priority=0,
    action=ActionGreet,
    payloads=(GET_STARTED,),
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
    keywords=(
        # en
        "hi", "hello", "hey", "hiya", "heya", "howdy", "hey there", "hi there",
        "hello there", "hi all", "hi everyone", "hello everyone", "hi guys", "hello guys",
        "good morning", "good afternoon", "good evening", "good day", "morning", "evening",
        "gm", "gud am", "gud pm", "gd am", "gd pm", "good am", "good pm", "greetings",
        "whats up", "sup", "yo", "good aft", "good eve", "gud eve", "gud morning", "gud evening",
        "gud afternoon", "how are you", "how r u", "how are u", "hows it going",
        # tl
        "magandang umaga", "magandang hapon", "magandang gabi", "magandang tanghali",
        "gandang umaga", "gandang hapon", "gandang gabi", "kumusta", "kamusta", "musta",
        "maayong buntag",
        # vi
        "xin chao", "chao", "chao shop", "chao chi", "chao anh", "chao ban", "alo", "hi shop",
        "shop oi", "ad oi", "chi oi",
        # es
        "hola", "buenas", "buenos dias", "buen dia", "buenas tardes", "buenas noches",
        "saludos", "que tal", "hola que tal", "holi",
        # pt
        "oi", "ola", "oie", "tudo bem", "tudo bom", "bom dia", "boa tarde", "boa noite", "e ai", "opa",
        # id/ms
        "halo", "hai", "helo", "selamat pagi", "selamat siang", "selamat sore",
        "selamat malam", "selamat petang", "pagi", "siang", "sore", "assalamualaikum",
        "salam", "permisi", "misi", "punten", "p",
        # th
        "สวัสดี", "หวัดดี", "ดี", "สวัสดีตอนเช้า", "ทัก",
        # vocatives on their own
        "kak", "kakak", "sis", "ate", "kuya", "admin", "shop", "maam", "sir",
    ),
    examples=("hello shop!", "magandang gabi po", "alo shop ơi", "hola buenas", "pagi kak"),
)
