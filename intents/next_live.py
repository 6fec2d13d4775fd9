"""Next live: a question about when the next live sale is.

A question word about time or existence next to a live ("what time", "kelan", "mấy giờ",
"¿cuándo", "kapan", "กี่โมง", "may live ba"). Asking to be *reminded* of the live is an
opt-in instead, which outranks this intent.

The action answers from the ``next_live`` slot (filled from the live-sales layer) and
offers the opt-in card to a shopper who is not subscribed.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogue.intent import Intent
from dialogue.kit import NEXT_LIVE, fact, offer_optin, when


class ActionNextLive(Action):
    """The sale live now, else the next scheduled one (or that none is scheduled), then the opt-in offer."""

    def name(self) -> str:
        return "action_next_live"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        sale = fact(tracker, "next_live")
        if sale and sale.get("live"):
            line = f"We're live now: {sale['title']}!"
            dispatcher.utter_message(text=f"{line} {sale['url']}" if sale.get("url") else line)
        elif sale:
            starts = when(int(sale["starts_at_ms"]), fact(tracker, "timezone", ""))
            line = f"Our next live sale: {sale['title']} — {starts}."
            dispatcher.utter_message(text=f"{line} {sale['url']}" if sale.get("url") else line)
        else:
            dispatcher.utter_message(text="No live sale is scheduled yet — we'll announce the next one soon!")
        offer_optin(dispatcher, tracker, asked=False)
        return []


INTENT = Intent(
    name="next_live",
    priority=20,
    action=ActionNextLive,
    payloads=(NEXT_LIVE,),
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
    keywords=("next live", "live schedule", "live sched", "sched ng live"),
    patterns=(
        # en
        r"\b(?:when|whens|wen|what time|wat time|what day|which day|what date|how soon"
        r"|schedule|sched)\b.{0,60}{live}",
        r"{live}.{0,60}\b(?:when|what time|schedule|sched|today|tonight|tomorrow|later|this week\w*"
        r"|now|again)\b.{0,60}\?",
        r"\b(?:is there|are there|will there be|any|do you have|will you|are you|r u|are u"
        r"|you going|u going|are we) (?:\w+ ){0,3}?{live}",
        r"\bnext (?:\w+ )?{live}.{0,60}\?",
        # tl
        r"\b(?:kailan|kelan|anong oras|ano oras|anung oras|anong araw|ilang oras)\b.{0,60}{live}",
        r"{live}.{0,60}\b(?:kailan|kelan|anong oras|anong araw)\b",
        r"\bmay {live}\b|\bmeron (?:ba )?(?:kayong )?{live}|{live} ba\b",
        # vi
        r"\b(?:may gio|may h|khi nao|bao gio|luc nao|hom nao|ngay nao|gio nao)\b.{0,60}{live}",
        r"{live}.{0,60}\b(?:may gio|may h|khi nao|bao gio|luc nao|hom nao|ngay nao)\b",
        r"\bco {live}(?: \w+){0,2} (?:khong|ko|k|hong|hok|chua)\b",
        # es
        r"\b(?:cuando|a que hora|que hora|que dia|que dias|hay|habra|tendran|van a hacer"
        r"|proximo|proxima|siguiente)\b.{0,60}{live}",
        r"{live}.{0,60}\b(?:cuando|a que hora|que dia|hoy|manana)\b.{0,60}\?",
        # id/ms
        r"\b(?:kapan|kpn|jam berapa|jam brp|pukul berapa|hari apa|bila|ada|ada gak|ada ga"
        r"|ada tak)\b.{0,60}{live}",
        r"{live}.{0,60}\b(?:kapan|kpn|jam berapa|jam brp|pukul berapa|hari apa|seterusnya"
        r"|berikutnya|selanjutnya)\b",
        # pt
        r"\b(?:que horas|qual dia|quando|vai ter|tem|teremos|havera|voces fazem)\b.{0,60}{live}",
        r"{live}.{0,40}\b(?:que horas|quando|hoje|amanha)\b",
        # a live and a time word, asked: "live later?", "hoje tem live?", "live po mamaya?",
        # "nanti malam live gak?", "¿están en vivo ahorita?"
        r"{live}(?: \w+){0,3}? (?:later|tmrw|tmr|tomorrow|tonight|today|now|again|yet|mamaya|bukas"
        r"|ngayon|ulit|hoje|amanha|agora|manana|hoy|ahorita|besok|nanti|hari ini|malam ini|sekarang"
        r"|esok|malam ni)\b(?: \w+){0,3}? \?",
        r"\b(?:today|tonight|tomorrow|tmrw|later|mamaya|bukas|ngayon|hoje|amanha|hoy|manana|besok"
        r"|nanti|esok)\b(?: \w+){0,4}? {live}(?: \w+){0,2}? \?",
        r"{live}(?: \w+){0,2}? (?:start\w*|begin\w*|on)\b.{0,20}\?|{live} (?:at|@) ?\d",
        r"\b(?:ya )?empez\w*\b.{0,20}{live}|\ba que hora (?:empiez|comienz|inicia)\w*",
        r"{live} na(?: ba)? \?|{live}(?: \w+){0,2}? (?:na ba|gak|ga|nggak|ngga|tak|belum|kah)\b",
        r"\b(?:ilang beses|anong time|what time)\b.{0,40}{live}",
        r"\b(?:anong oras|what time|que horas|a que hora|jam berapa|may gio)\b.{0,30}"
        r"\b(?:mamaya|later|tonight|hoje|hoy|nanti|toi nay)\b",
        r"{live}(?: \w+){0,2}? (?:chua|ko|khong|k|hong|hok|roi ha|roi a)\b|\bdang {live}\b",
        r"\bthu may\b.{0,30}{live}|{live}.{0,30}\bthu may\b",
        # th
        "{live}.{0,60}(?:กี่โมง|เมื่อไหร่|เมื่อไร|วันไหน|ไหม|มั้ย|หรือเปล่า|รึเปล่า|ป่าว|หรือยัง|ยัง)",
        "(?:กี่โมง|เมื่อไหร่|เมื่อไร|วันไหน|มี).{0,60}{live}",
    ),
    examples=(
        "what time is the live today?",
        "kailan po ang susunod na live?",
        "khi nào shop live tiếp vậy",
        "¿cuándo hacen el siguiente live?",
        "kapan live berikutnya kak?",
        "ไลฟ์วันไหนคะ",
    ),
)
