"""Back in stock: a request to be told when a product or size is available again.

Outranks the live opt-in, because a product request is more specific: "message me if you
restock the scrunchies (I missed them in the live)" is about the scrunchies. Asking
whether something is in stock *now* ("available in XL?") is not a request: ``none``.

The action asks for a one-time notification titled for the product (topic
``restock:<product>``, which a restock announcement uses), when OTN is on and allowed.
"""

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.intent import Intent
from dialogue.kit import OPTIN_YES, fact, otn_card, otn_title, product_of, quick, when


def _slug(product: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", product.lower()).strip("-")[:40] or "any"


class ActionBackInStock(Action):
    """A one-time "back in stock" request for the product the shopper named."""

    def name(self) -> str:
        return "action_back_in_stock"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        product = product_of(tracker.latest_message.get("text") or "")
        if not fact(tracker, "otn_allowed", False):
            dispatcher.utter_message(text="I can't set a restock alert in this chat, sorry — restocks are "
                                          "announced in our live sales.")
            if not fact(tracker, "subscribed", False) and not fact(tracker, "opted_out", False):
                dispatcher.utter_message(text="Want a reminder before each live sale?",
                                         quick_replies=[quick("Yes, remind me", OPTIN_YES)])
            return []
        title = f"Back in stock: {product}" if product else "Tell me when it's back in stock"
        asked = (fact(tracker, "asked_titles", {}) or {}).get(otn_title(title))
        if asked:  # Messenger refuses the same request twice; the shopper hears they are on the list
            what = f"the {product}" if product else "that"
            dispatcher.utter_message(
                text=f"You're already on the list for {what} ✅ I sent you the “Notify me” button on "
                     f"{when(int(asked), str(fact(tracker, 'timezone', '')))}: if you haven't tapped it yet, "
                     "scroll up and tap it, and we'll message you once, as soon as it's back.")
            return []
        dispatcher.utter_message(json_message=otn_card(title, f"restock:{_slug(product)}", product=product))
        return []


class ActionOtnConfirmed(Action):
    """After the shopper tapped "Notify me": a confirmation (only while the window is open)."""

    def name(self) -> str:
        return "action_otn_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Got it 👍 We'll message you once, as soon as it's back.")
        return []


INTENT = Intent(
    name="back_in_stock",
    priority=40,
    action=ActionBackInStock,
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
    keywords=("restock", "restok", "waitlist", "waitlist me", "reposicao", "restock pls", "pa restock"),
    patterns=(
        r"{request}.{0,60}{stock}",
        r"{stock}.{0,60}{request}",
        r"\b(?:pa ?)?wait ?list\w*|\bwaiting list\b",
        r"\b(?:back in stock|restock) (?:alerts?|notif\w*|reminders?|updates?)\b",
        # restock questions: "when will the tote be back?", "kailan po restock?", "bao giờ có hàng lại?"
        r"\b(?:when|whens|wen|will|any|any chance|is|are|do you|kailan|kelan|kapan|kpn|bila|cuando"
        r"|quando|khi nao|bao gio|vai|va a|van a|habra|may|meron|ada)\b.{0,60}{restock}",
        r"{restock}.{0,60}(?:\?|\b(?:when|kailan|kelan|kapan|kpn|bila|cuando|quando|khi nao|bao gio"
        r"|chua|khong|ko|kah|ga|gak|ba|soon|pa)\b)",
        r"^(?:pa ?)?re ?sto(?:c)?k\w*\b",  # "restock po ng black heels"
        "{restock}.{0,30}(?:เมื่อไหร่|เมื่อไร|ไหม|มั้ย|บอก|แจ้ง|ทัก)|รอ(?:ของ|รีสต็อก|สต็อก)",
    ),
    examples=(
        "let me know when the black heels are back",
        "pa-notify po pag may size 7 na ulit",
        "có hàng lại báo mình nha",
        "avísame cuando haya stock de la talla M",
        "kabarin kalau ready stok lagi kak",
        "ของเข้าแล้วแจ้งด้วยนะคะ",
    ),
)
