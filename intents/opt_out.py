"""Opt-out: the shopper wants messages, notifications or reminders to stop.

Highest priority: a missed stop is the worst error (it breaks Messenger policy and loses
the shopper), so any refusal of messages wins over whatever else the message says.
Negation is scoped: a refusal word, at most a few filler words ("don't you ever ...",
"wag nyo na po ako ..."), then a reminder or message verb. "Forget" and "miss" are not
fillers, so "don't forget to notify me" stays a request.

The engine opts the shopper out locally *before* this action runs; the action confirms
it and says how to stop the reminders in Messenger itself.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.kit import OPTIN_YES, STOP_REMINDERS, quick
from bot.intent import Intent


class ActionOptOut(Action):
    """Confirm the stop and show the way to stop in Messenger too."""

    def name(self) -> str:
        return "action_opt_out"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text="Done — you won't get any more reminders or promotions from us. 👋\n"
                 "To stop them in Messenger too, tap “Stop these messages” under any reminder, or tap our "
                 "name at the top of this chat → Notifications → Turn off. Changed your mind? Tap below.",
            quick_replies=[quick("Remind me again", OPTIN_YES)])
        return [SlotSet("opted_out", True)]

_VERB_EN = r"(?:remind|notify|notif|message|msg|text|pm|dm|send|spam|contact|alert|tag|update)"
_SCOPE_EN = (
    r"(?: (?:you|u|ever|need|need to|have to|want|wanna|want to|bother|bother to|to|me|us"
    r"|again|anymore|any|more|send|be|want to receive|want to get|wanna get|wanna receive))"
)

INTENT = Intent(
    name="opt_out",
    priority=100,
    action=ActionOptOut,
    payloads=(STOP_REMINDERS,),
    languages=("en", "tl", "vi", "es", "id", "ms", "th"),
    keywords=(
        "stop", "stop it", "stop na", "stop all", "stopall", "stop stop", "unsubscribe",
        "unsub", "unfollow", "opt out", "optout", "quit", "enough", "no more", "no more live",
        "tigil", "tigil na", "tama na", "ayoko na", "hinto", "dung lai", "dung", "thoi",
        "thoi nha", "basta", "ya basta", "alto", "parar", "berhenti", "cukup", "sudah cukup",
        "udah cukup",
        "หยุด", "พอแล้ว", "เลิก",
    ),
    patterns=(
        # unsubscribe in any dress: "pa-unsubscribe na po", "unsubscribe me now"
        r"\b(?:pa|paki|i|ma|mag)?un ?sub\w*",
        r"\bopt(?: me)? ?out\b",
        # "stop" opening the message, unless it means to visit: "stop by ako sa store"
        r"^stop\b(?! (?:by|over|at|in|on|and|sa|selling|being|lying|hiding|playing|making)\b)",
        r"\bstop$(?<!dont stop)(?<!never stop)(?<!bus stop)",  # "no thanks, stop"
        r"\b(?:stop|quit|cease|pause|disable|turn off|mute)(?<!dont stop)(?<!never stop)"
        r"(?<!cant stop)(?<!cannot stop)(?<!wont stop)(?<!not stop)"
        r" (?:\w+ ){0,2}?(?:sending|messaging|texting|spamming|notifying|reminding|tagging"
        r"|messages?|msgs?|notifications?|notifs?|reminders?|alerts?|updates?|texts?|pms?"
        r"|it|them|spam)\b",
        r"\bcancel\w* (?:\w+ ){0,2}?(?:reminders?|notifications?|notifs?|alerts?"
        r"|subscriptions?)\b",
        r"\bno more (?:\w+ )?(?:messages?|msgs?|notifications?|notifs?|reminders?|alerts?|spam"
        r"|texts?|pms?|updates?)\b",
        r"\b(?:take|remove|delete|drop) (?:me|us|my (?:name|number|account))(?: \w+){0,2}?"
        r" (?:off|from|out)\b",
        r"\bleave me alone\b",
        # en negation scope: "don't remind me", "no need to notify me", "never message me"
        rf"\b(?:dont|do not|dnt|no need to|no need|never)\b{_SCOPE_EN}{{0,4}} (?:{_VERB_EN}"
        r"(?:s|ing|ers?|ications?|ages?)?\b|be (?:reminded|notified|messaged|tagged)\b)",
        # tl: "wag nyo na po ako i-remind", "ayoko na ng notif", "tigilan nyo na ako"
        r"\b(?:wag|huwag|hwag|hwg|wg|di|hindi|ayoko|ayaw)\b(?: (?:nyo|niyo|mo|na|ako|kami|ko|ng"
        r"|nang|sa|mga|muna|akong|kaming|kong|ma|lang|kailangan|kailangang|makatanggap"
        r"|tumanggap|kayo|kayong)){0,5} (?:pa|i|ma|mag|paki)?(?:remind|notify|notif|message|msg"
        r"|chat|pm|text|spam|tag|update|padalhan|send|sabihan|paalala)\w*",
        r"\b(?:tigil|itigil|tigilan|tumigil)\w*",
        # vi: "đừng nhắn nữa", "không cần nhắc", "thôi không nhận thông báo ... nữa", "hủy đăng ký"
        r"\b(?:dung|khong can|ko can|k can|khoi)(?: cho| nua)? (?:gui|nhan|nhac|bao|spam|inbox"
        r"|ib|tag|thong bao)\b",
        r"\b(?:khong|ko|k|kg|hong|hok|thoi)\b(?: \w+){0,3}? (?:nhan|nhac|gui|bao|thong bao)\b"
        r".{0,60}\bnua\b",
        r"\bhuy (?:dang ky|theo doi|nhan|thong bao|nhac)\b",
        # es: "ya no me manden mensajes", "no quiero más notificaciones", "darme de baja"
        r"\bno (?:me |nos )?(?:\w+ )?(?:(?:mand|envi|notifiqu|recuerd|avis|molest|spame|etiquet)"
        r"(?:en|es|e)|escrib(?:an|as|a))\b",
        r"\bno (?:quiero|necesito|deseo)(?: \w+){0,2}? (?:mensajes|notificaciones|recordatorios"
        r"|avisos|msjs?|notis|spam)\b",
        r"\b(?:no mas|basta de|basta con) (?:mensajes|notificaciones|recordatorios|avisos|spam"
        r"|msjs?)\b",
        r"\bde baja\b|\bdes(?:u|in)scrib\w*",
        r"\bcancelar (?:la |mi |las |los )?(?:suscripcion|notificaciones|recordatorios|avisos)\b",
        r"\b(?:deja|dejen|dejar|paren|parar|para) de (?:mandar|enviar|escribir|notificar|molestar)",
        # id/ms: "berhenti", "gak usah diingetin lagi", "jangan kirim pesan", "tak nak terima mesej"
        r"\bberhenti\b",
        r"\b(?:jangan|jgn|gak usah|ga usah|gausah|gk usah|nggak usah|ngga usah|enggak usah"
        r"|tidak usah|tdk usah|tak payah|tak perlu|tidak perlu|gak perlu|ga perlu|tak nak|taknak"
        r"|x nak|tidak mau|tdk mau|gak mau|ga mau|nggak mau|ogah)\b(?: (?:lagi|saya|aku|gw|gue"
        r"|kami|lg|ke|dapat|dapet|terima|menerima)){0,3} (?:di|ter|meng|ng|me)?(?:ingatkan"
        r"|ingetin|ingatin|ingetkan|kirim\w*|hantar\w*|notif\w*|kabarin|kabari|spam|chat|pesan"
        r"|mesej|tag|pm|dm)\b",
        # th: เลิก/หยุด/ไม่ต้อง + ส่ง/แจ้ง/เตือน ("เลิกแจ้งเตือน", "ไม่ต้องส่งข้อความ")
        "(?:เลิก|หยุด|ไม่ต้อง|ไม่รับ|ไม่เอา|ยกเลิก)(?:การ)?(?:ส่ง|แจ้ง|เตือน|รับ|ติดตาม)",
    ),
    examples=(
        "stop sending me messages",
        "please unsubscribe me",
        "wag nyo na akong i-message",
        "đừng gửi tin nhắn nữa",
        "ya no quiero recibir mensajes",
        "jangan kirim pesan lagi",
        "หยุดส่งข้อความค่ะ",
    ),
)
