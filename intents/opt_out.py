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

from dialogue.intent import Intent
from dialogue.kit import OPTIN_YES, STOP_REMINDERS, quick


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
    r"|again|anymore|any|more|send|be|want to receive|want to get|wanna get|wanna receive"
    r"|get|receive|getting|receiving|these|this|those|the|your|such))"
)
_NOUNS = (
    r"(?:messages?|msgs?|notifications?|notifs?|reminders?|alerts?|updates?|texts?|pms?|spam"
    r"|mensajes|mensagens?|notificaciones|notificac\w*|recordatorios|lembretes?|avisos"
    r"|pesan|mesej|notifikasi|pengingat|peringatan|thong bao|tin nhan|nhac nho)"
)
_LATER = r"(?!(?: \w+){0,4} (?:later|someday|next time|if i want|despues|luego|depois|nanti|mamaya|sau nay)\b)"

INTENT = Intent(
    name="opt_out",
    priority=100,
    action=ActionOptOut,
    payloads=(STOP_REMINDERS,),
    languages=("en", "tl", "vi", "es", "pt", "id", "ms", "th"),
    keywords=(
        "stop", "stop it", "stop na", "stop all", "stopall", "stop stop", "stahp", "unsubscribe",
        "unsub", "unfollow", "opt out", "optout", "quit", "enough", "no more", "no more live",
        "remove me", "not interested", "leave me alone",
        "tigil", "tigil na", "tama na", "ayoko na", "ayaw ko na", "hinto", "pastop", "wag na",
        "dung lai", "dung", "thoi", "thoi nha",
        "basta", "ya basta", "alto", "parar", "para", "ya no", "no mas", "no me interesa",
        "ya no me interesa",
        "chega", "pare", "descadastrar", "quero sair", "nao quero mais", "nao tenho mais interesse",
        "berhenti", "cukup", "sudah cukup", "udah cukup", "udahan",
        "หยุด", "พอแล้ว", "พอเถอะ", "เลิก", "ไม่สนใจแล้ว",
    ),
    patterns=(
        # unsubscribe in any dress: "pa-unsubscribe na po", "unsubscribe me now", "unsuscribe";
        # not "don't unsubscribe me", not "can I unsubscribe later?"
        r"\b(?=(?:pa|paki|i|ma|mag)?un ?su)(?<!dont )(?<!do not )(?<!never )(?<!wag )(?<!ako )(?<!nao me )"
        rf"(?:pa|paki|i|ma|mag)?un ?su(?:bs|b|s)c?r?i?b\w*\b{_LATER}",
        r"\b(?:pa|paki|ma)? ?opt(?: me)? ?out\b",
        r"\bpa ?stop\w*",
        r"\bstop (?:na|now)$|\b(?:you can|u can|just|pls|please) stop(?: now)?$",
        r"\bstop$(?<!dont stop)(?<!never stop)(?<!bus stop)",  # "no thanks, stop"
        r"^stop (?:live|the live|all)\b",
        r"\b(?:stop|quit|cease|pause|disable|turn off|mute|tat|ngung|ngừng)(?<!dont stop)(?<!never stop)"
        r"(?<!cant stop)(?<!cannot stop)(?<!wont stop)(?<!not stop)"
        r" (?:\w+ ){0,2}?(?:sending|messaging|texting|spamming|notifying|reminding|tagging"
        rf"|{_NOUNS[3:-1]}|kirim\w*|hantar\w*|gui|nhan|mandar|enviar)\b",
        rf"\bcancel\w* (?:\w+ ){{0,2}}?(?:{_NOUNS[3:-1]}|subscriptions?|suscripcion|inscricao)\b",
        rf"\bno more (?:\w+ )?{_NOUNS}\b",
        rf"\benough (?:with |of )?(?:the |your |these |all )?{_NOUNS}\b",
        r"\b(?:take|remove|delete|drop|get) (?:me|us|my (?:name|number|account))(?:(?: \w+){0,2}?"
        r" (?:off|from|out)\b|$)",
        r"\bmute me\b|\bleave me alone\b|\bstop bothering\b|\bdont bother me\b",
        r"\bno longer (?:want|need|wish)\b",
        r"\bnot interested(?: anymore| any more| na)?$",
        # en negation scope: "don't remind me", "no need to notify me", "never message me"
        rf"\b(?:dont|do not|dnt|no need to|no need|never)\b{_SCOPE_EN}{{0,4}} (?:{_VERB_EN}"
        r"(?:s|ing|ers?|ications?|ages?)?\b|be (?:reminded|notified|messaged|tagged)\b)",
        # tl: "wag nyo na po ako i-remind", "ayoko na ng notif", "tigilan nyo na ako", "pakitanggal po ako"
        r"\b(?:wag|huwag|hwag|hwg|wg|di|hindi|ayoko|ayaw)\b(?: (?:nyo|niyo|mo|na|ako|kami|ko|ng"
        r"|nang|sa|mga|muna|akong|kaming|kong|ma|lang|kailangan|kailangang|makatanggap|gusto"
        r"|tumanggap|kayo|kayong|live|talaga)){0,6} (?:pa|i|ma|mag|paki)?(?:remind|notify|notif|message|msg"
        r"|chat|pm|text|spam|tag|update|padalhan|send|sabihan|paalala|sumali|sali|isali)\w*",
        r"\b(?:tigil|itigil|tigilan|tumigil)\w*",
        r"^(?:ayaw ko|ayoko|hindi|di|wag|huwag|hwag) na(?: (?:talaga|salamat|thanks|thank you|stop na|stop|ako))*$",
        r"\bhindi na (?:ako )?interested\b",
        r"\btama na\b.{0,40}\b(?:message|msg|notif|remind|chat|text|spam)",
        r"\b(?:paki|pa|i)?(?:tanggal|alis|remove|delete)\w*(?: \w+){0,3}? (?:ako|kami|sa (?:list\w*|reminders?"
        r"|notif\w*|live))\b",
        # vi: "đừng nhắn nữa", "không cần nhắc", "thôi không nhận thông báo ... nữa", "hủy đăng ký"
        r"\b(?:dung|ngung|khong can|ko can|k can|khoi)(?: cho| nua)? (?:gui|nhan|nhac|bao|spam|inbox"
        r"|ib|tag|thong bao)\b",
        r"\b(?:khong|ko|k|kg|hong|hok|thoi)\b(?: \w+){0,3}? (?:nhan|nhac|gui|bao|thong bao)\b"
        r".{0,60}\bnua\b",
        r"\bhuy (?:dang ky|theo doi|nhan|thong bao|nhac)\b(?! sau nay)",
        r"\btat (?:thong bao|nhac\w*|tin)\b",
        r"\b(?:xoa|bo|loai) (?:em|minh|toi|e|tui)(?: ra)? khoi\b",
        r"\b(?:dung|khong|ko) (?:lam phien|quay ray)\b",
        # es: "ya no me manden mensajes", "no quiero más notificaciones", "darme de baja"
        r"\bno (?:me |nos )?(?:\w+ )?(?:(?:mand|envi|notifiqu|recuerd|avis|molest|spame|etiquet)"
        r"(?:en|es|e)|escrib(?:an|as|a))\b",
        r"\bno (?:quiero|necesito|deseo)(?: \w+){0,2}? (?:mensajes|notificaciones|recordatorios"
        r"|avisos|msjs?|notis|spam)\b",
        r"\bno quiero que me (?:avisen|manden|envien|escriban|notifiquen|recuerden)\b",
        r"\b(?:ya )?no quiero (?:recibir|que me|mensajes|nada|notificaciones|avisos)\b",
        r"\bpara$",
        r"\b(?:no mas|basta de|basta con) (?:mensajes|notificaciones|recordatorios|avisos|spam"
        r"|msjs?)\b",
        r"^no mas(?: gracias)?$|^(?:ya )?no me interesa(?: mas)?(?: gracias)?$",
        r"\bde baja\b(?<!no me den de baja)(?<!no me des de baja)(?<!no nos den de baja)"
        r"(?! (?:despues|luego|mas tarde))"
        r"|\bdes(?:u|in)scrib\w*",
        r"\b(?:borr|saqu|sac|quit|elimin)\w* (?:de )?(?:la|su|sus|los|las|tu|mi) (?:lista|listas"
        r"|recordatorios|notificaciones|avisos)\b",
        r"\bdesa?(?:c)?tiv\w* (?:las |los |os |as |mis |minhas )?(?:notificac\w*|avisos|recordatorios"
        r"|lembretes|alertas)\b",
        r"\b(?:deja|dejen|dejar|paren|parar|para) de (?:mandar|enviar|escribir|notificar|molestar)",
        r"\b(?:paren|parem) (?:los |las |com |as |os |de )?(?:mensajes|mensagens|notificaciones|avisos"
        r"|lembretes|recordatorios)\b",
        r"\b(?:dejen\w*|dejame|deix\w*) (?:\w+ )?(?:en|em) paz\b",
        # pt: "para de me mandar mensagem", "não quero mais receber", "me tira da lista", "chega de"
        r"\bchega de\b",
        r"\b(?:para|pare|parem|parar) de (?:me )?(?:mandar|enviar|avisar|lembrar|notificar|marcar)",
        r"\bnao (?:me |nos )?(?:mand|envi|avis|lembr|notifiqu|marqu)\w*(?: mais)?\b",
        r"\bnao precisa (?:mais )?(?:me )?(?:avisar|lembrar|mandar|enviar)\b",
        r"\bnao (?:quero|desejo|preciso)(?: mais)? (?:receber|mensage\w*|notifica\w*|lembrete\w*"
        r"|aviso\w*|os lembretes|as notifica\w*|os avisos)",
        r"\bme (?:tira|tire|tirem|remove|remova|removam|exclui|exclua)\b",
        r"\b(?=descadastr)(?<!nao me )(?<!nao )descadastr\w*",
        r"\bsair da lista\b|\bquero sair\b",
        # id/ms: "berhenti", "gak usah diingetin lagi", "jangan kirim pesan", "tak nak terima mesej"
        r"\bberhenti\b(?! (?:di|dimana|dulu)\b)(?!(?: \w+){0,2} nanti\b)",
        r"\b(?:jangan|jgn|gak usah|ga usah|gausah|gk usah|nggak usah|ngga usah|enggak usah"
        r"|tidak usah|tdk usah|tak payah|tak perlu|tidak perlu|gak perlu|ga perlu|tak nak|taknak"
        r"|x nak|tidak mau|tdk mau|gak mau|ga mau|nggak mau|ogah)\b(?: (?:lagi|saya|aku|gw|gue"
        r"|kami|lg|ke|dapat|dapet|terima|menerima)){0,3} (?:di|ter|meng|ng|me)?(?:ingatkan"
        r"|ingetin|ingatin|ingetkan|kirim\w*|hantar\w*|notif\w*|kabarin|kabari|spam|chat|pesan"
        r"|mesej|tag|pm|dm)\b",
        r"\b(?:hapus|keluarin|keluarkan|buang|remove|delete)(?:kan|in)? (?:aku|saya|gw|gue|sy|kami)\b",
        r"\b(?:jangan|jgn) ganggu\b",
        # th: เลิก/หยุด/ไม่ต้อง/อย่า + ส่ง/แจ้ง/เตือน/ทัก ("เลิกแจ้งเตือน", "ไม่ต้องส่งข้อความ", "อย่าส่งมาอีก")
        "(?:เลิก|หยุด|ไม่ต้อง|ไม่รับ|ไม่เอา|ยกเลิก|อย่า)(?:การ)?(?:ส่ง|แจ้ง|เตือน|รับ|ติดตาม|ทัก)",
        "ไม่(?:อยาก)?(?:ได้)?รับ(?:ข่าว|ข้อความ|แจ้ง|การแจ้ง)",
        "เอาชื่อ.{0,10}ออก",
        "ไม่สนใจแล้ว",
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
