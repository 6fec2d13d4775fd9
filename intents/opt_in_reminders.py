"""Opt-in to live-sale reminders: a request to be reminded or notified when the shop goes live.

The shop's keyword itself ("LIVE") is configured per shop and handled by the spotter
(``Spotter(optin_keywords=...)``); this file covers the requests in words. A request needs
a telling verb aimed at the sender *and* a live: "remind me my total" is not an opt-in.
A wrong opt-in is worse than a missed one, so patterns stay narrow.

Actions: the answer to the request (the opt-in card, or why not), the invitation sent as
the one private reply to a keyword comment, the confirmation once the shopper opted in,
and the scheduled follow-up.

The invitation cannot be the card: a private reply does not open the 24-hour window, and the
card may go only inside it (messenger-platform.md §3.8, §4.2). The shopper's answer in the DM
opens it. On Messenger the invitation carries a quick reply ("Yes, remind me") whose tap is that
answer; on Instagram a private reply is a text only (Meta documents nothing else for it; see
:mod:`bot.instagram_policy`), so it asks the shopper to write the keyword in the chat, and the
keyword in a DM gets the card.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.intent import Intent
from dialogue.kit import OPTIN_YES, STOP_REMINDERS, fact, offer_optin, on_instagram, otn_card, quick


class ActionOptInReminders(Action):
    """Chat: the opt-in card, unless already subscribed or asked this week. Comment: an invitation."""

    def name(self) -> str:
        return "action_opt_in_reminders"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if fact(tracker, "channel") == "comment":
            if fact(tracker, "subscribed", False):
                dispatcher.utter_message(text="You're already on the list ✅ See you at the live!")
            elif on_instagram(tracker):
                keyword = fact(tracker, "optin_keyword", "LIVE")
                dispatcher.utter_message(text=f"Thanks for your comment! 🙌 Want a reminder before every live "
                                              f"sale? Reply {keyword} here in this chat and I'll send you the "
                                              "sign-up.")
            else:
                dispatcher.utter_message(text="Thanks for your comment! 🙌 Want a reminder before every live sale?",
                                         quick_replies=[quick("Yes, remind me", OPTIN_YES)])
            return []
        offer_optin(dispatcher, tracker, asked=True)
        return []


class ActionOptinConfirmed(Action):
    """After ``messaging_optins``: a confirmation (sent only while the window is open)."""

    def name(self) -> str:
        return "action_optin_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text=f"You're subscribed to “{fact(tracker, 'optin_title', 'reminders')}” ✅ We'll message you before "
                 "each live sale. To stop, type STOP or tap Stop reminders in the menu.",
            quick_replies=[quick("Stop reminders", STOP_REMINDERS)])
        return []


class ActionFollowUp(Action):
    """Some hours after a chat that ended without an opt-in: the card, once; or, with
    ``FOLLOWUP_OFFER=otn:<topic>``, a one-time notification request for that topic where OTN is
    allowed (else the card), never twice in a week."""

    def name(self) -> str:
        return "action_followup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if fact(tracker, "followup_offer", "reminders") == "otn" and fact(tracker, "otn_allowed", False):
            title = str(fact(tracker, "followup_otn_title", ""))
            if title not in (fact(tracker, "asked_titles", {}) or {}):
                dispatcher.utter_message(json_message=otn_card(title, str(fact(tracker, "followup_otn_topic", ""))))
            return []
        offer_optin(dispatcher, tracker, asked=False, source="followup")
        return []


INTENT = Intent(
    name="opt_in_reminders",
    priority=30,
    action=ActionOptInReminders,
    payloads=(OPTIN_YES,),
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
    keywords=(
        "subscribe", "subscribe me", "sign me up", "remind me", "notify me", "notif me",
        "remind", "notify", "live reminder", "live reminders", "live alert", "live alerts",
        "paremind", "panotify", "panotif", "paremind ako", "panotify ako", "pa remind",
        "pa notify", "nhac em", "nhac minh", "dang ky", "dang ky nhan tin", "avisame",
        "avisenme", "suscribirme", "ingatkan saya", "ingetin", "ingetin aku", "kabarin",
        "kabarin aku", "nhac e", "bao em", "bao e", "bao minh", "nhac toi", "me avisa", "me avisem",
        "me avise", "me lembra", "me lembre", "quero me inscrever", "me inscreve", "notif", "notif me",
        "want reminders", "i want reminders", "sign me up", "count me in", "suscribeme", "me apunto",
        "แจ้งเตือน", "รับแจ้งเตือน", "ขอแจ้งเตือน",
    ),
    patterns=(
        r"{request}.{0,60}{live}",
        r"{live}.{0,60}{request}",
        # "live sale reminders", "live alerts": the noun phrase is the request
        r"{live} (?:sale |selling |stream )?(?:reminders?|alerts?|notifs?|notifications?)\b",
        # a request naming the reminders themselves: "quero receber os lembretes", "me suscribo a los avisos"
        r"{request}.{0,40}\b(?:reminders?|recordatorios|lembretes?|notificac\w*|notificaciones|avisos"
        r"|alerts?|pengingat|peringatan|nhac nho|thong bao)\b",
        r"\bsu(?:bs|b|s)cr?i?be?\b",  # "subscibe me", "suscribe", "subcribe"
        r"\b(?:add|put|include) (?:me|us) (?:to|on|in) (?:the |your )?(?:list|reminders?|notif\w*)\b",
        r"\b(?:pa|paki|i|ma|mag)su(?:bs|b|s)cr?i?b\w*",  # "pa-subscribe po" (folded: "pasubscribe")
        "(?:ขอ|ฝาก|สมัคร|อยาก(?:ได้)?|เปิด)(?:รับ)?(?:การ)?แจ้งเตือน",
    ),
    examples=(
        "remind me every time you go live",
        "please notify me about your live sales",
        "pa-remind po ako pag live na",
        "nhắc mình khi shop lên live nha",
        "avísenme de sus lives porfa",
        "ingatkan aku kalau ada live ya kak",
        "เตือนด้วยนะคะถ้ามีไลฟ์",
    ),
)
