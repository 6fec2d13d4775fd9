"""Shared vocabulary of the intent spotter: particles, fillers and regex fragments.

Everything here is written in *normalised* form (casefolded, no diacritics, hyphens and
apostrophes joined: "pa-notify" -> "panotify", "don't" -> "dont"; see
:mod:`dialogue.nlu.normalize`). Thai has no spaces between words, so its entries are plain
substrings and never rely on ``\\b``.

The fragments (``{live}``, ``{request}``, ``{stock}``) may be used in
:attr:`dialogue.intent.Intent.patterns`; the spotter expands them when it compiles an intent,
so intent files say *what* they need ("a request to be told ... about a live") without
repeating five languages of verbs each time.
"""

from __future__ import annotations

# Politeness particles and vocatives dropped anywhere in a message: they soften a request
# but never change what it asks ("paremind po ako" = "paremind ako").
PARTICLES: tuple[str, ...] = (
    "po", "pls", "plz", "plis", "pliz", "pliss", "please", "plese", "pleas", "porfa",
    "porfis", "porfavor", "por favor", "xfa", "kak", "kakak", "sis", "sist", "ate",
    "kuya", "sir", "maam", "mam", "madam", "beb", "bebs", "dong", "deh", "ya", "yah",
    "tolong", "nha", "nhe", "nghen", "nhen", "shop oi", "ad oi", "add oi", "chi oi",
    "em oi", "ban oi", "oi", "poh", "pfv", "pf", "pfvr", "xfavor",
    "ครับผม", "ค่ะ", "คะ", "ครับ", "คับ", "ค่า", "ค่าา", "จ้า", "จ้ะ", "น้า", "นะ", "ด้วย", "แม่ค้า", "ร้าน",
)

# Particles that only soften when they close the message: Vietnamese "ạ"/"với"
# ("nhắc em với ạ"), Tagalog "ha", Malay "lah", Thai-romanised "ka". Elsewhere they are
# words ("a que hora", "voi" = with).
END_PARTICLES: tuple[str, ...] = (
    "a", "ka", "kha", "krub", "ha", "voi", "la", "lah", "ne", "nhi", "nhe", "di",
)

# Thai particles glued to the end of a word ("สวัสดีค่ะ"); normalisation splits them off.
THAI_TAIL_PARTICLES: tuple[str, ...] = (
    "ครับผม", "ค่ะ", "คะ", "ครับ", "คับ", "ค่าา", "ค่า", "จ้า", "จ้ะ", "น้า", "นะ", "ด้วย", "แม่ค้า", "ร้าน",
)

# Words that may surround a bare keyword without turning it into a sentence: "LIVE din
# ako po", "#LIVE here", "stop na", "LIVE?", "hola amiga".
FILLERS: tuple[str, ...] = (
    "here", "me", "too", "me too", "also", "din", "rin", "ako", "ako din", "aku",
    "aku juga", "saya", "juga", "yo", "tambien", "yo tambien", "em", "minh", "toi", "e",
    "eu", "eu tambem", "aqui", "for me", "for me too", "again", "ulit", "aja", "lagi",
    "shop", "admin", "ad", "seller", "?",
    # vocatives
    "miss", "min", "gan", "hun", "amiga", "amigo", "bes", "mare", "chi", "anh", "da", "uy",
)

# Thanks and assent around another intent's keyword ("LIVE thanks", "stop ty", "yes remind
# me"), but not around a greeting's: "makasih kak", "ok shop" and "cảm ơn shop" are not hellos.
THANKS_AND_ASSENT: tuple[str, ...] = (
    "thanks", "thank you", "thank u", "thanks a lot", "ty", "tysm", "thx", "tnx", "salamat",
    "maraming salamat", "gracias", "muchas gracias", "mil gracias", "obrigada", "obrigado",
    "makasih", "terima kasih", "trims", "cam on", "ขอบคุณ",
    "yes", "yup", "yep", "oo", "opo", "si", "sim", "iya", "ok", "okay", "sure", "sige",
)

# Words after a keyword typed first that make it a sentence about the live, not the keyword:
# "LIVE na tayo!", "live ba to?", "live chat agent", "LIVE selling is fun".
CONTINUING: frozenset[str] = frozenset(
    """na ba chat selling seller sale sales stream streaming was is are will kemarin hom de do da
    di ng yesterday tonight today later now nanti ulit lagi roi chua""".split()
)

# Opt-out words a shopper misspells ("stpo", "sotp", "unsubcribe"): one edit away counts,
# alone in the message, when the word is not a real one (COMMON_WORDS).
FUZZY_STOPS: tuple[str, ...] = ("stop", "unsubscribe", "unsub", "berhenti", "unfollow")

# Real words one edit away from likely keywords: never read them as a misspelt keyword
# ("love" is not "live", "safe" is not "sale").
COMMON_WORDS: frozenset[str] = frozenset(
    """love like life line lie lied lies lime lice lite lave leve lives lived liver liven
    lovely liked lima lina lino lisa lista vive vivo vida livre
    sake safe sole same sage sane sala sali salt sales sail sal
    stock stop step stap shop ship slip top stops stow stomp stoop atop slop sop spot
    join jon joint john
    hi ho he ha hey yes yep nope none nice good cool wow omg lol haha hehe okay ok
    mine min mio mia kita kami kayo siya ano ito iya aja""".split()
)


def split_alternatives(pattern: str) -> list[str]:
    """``pattern`` cut at each alternation ``|`` outside any group or class."""
    parts, start, depth, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 2 if pattern[i + 1 : i + 2] == "]" else 1  # "[]...]": first "]" is literal
            continue
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` has an alternation ``|`` outside any group or class."""
    return len(split_alternatives(pattern)) > 1


def alternation(parts: list[str] | tuple[str, ...]) -> str:
    """Join regexes with ``|``, hoisting a shared leading ``\\b`` out of the group.

    ``\\b(?:a|b|c)`` is several times faster to search than ``\\ba|\\bb|\\bc``: the
    engine tests the word boundary once per position instead of once per branch.
    """
    bounded, others = [], []
    for part in parts:
        if part.startswith("\\b") and not _top_level_bar(part):
            bounded.append(part[2:])
        else:
            others.append(f"(?:{part})")
    if bounded:
        others.insert(0, "\\b(?:" + "|".join(bounded) + ")")
    return "(?:" + "|".join(others) + ")"


def _alt(*parts: str) -> str:
    return alternation(parts)


# "live" as the shop's broadcast, not the verb: "I live in Cebu", "we live near",
# "live chat agent" are excluded; "mag-live", "en vivo", "ไลฟ์" included.
LIVE = _alt(
    r"\blives?\b(?<!\bi live)(?<!\bi lives)(?<!\bwe live)(?<!\bthey live)(?<!\bwho live)"
    r"(?<!\bdo you live)"
    r"(?! (?:chat|agent|support|person|human|music|band|plants?|wire|bait|near|nearby|just"
    r"|abroad|with)\b| in (?!\d|a |an |the |few ))",
    r"\b(?:livestream\w*|livesale\w*|liveselling|golive|livenya|liveny)\b",
    r"\b(?:mag|nag|pag|ma|maka|naka)(?:la)?live\b",
    r"\ben (?:vivo|directo)\b",
    r"\bao vivo\b",
    r"\b(?:phat truc tiep|len song|siaran langsung)\b",
    "ไลฟ",
)

# A request to be told something, aimed at the sender, in each language.
_PRONOUN_VI = r"(?:minh|em|toi|chi|anh|tui|to|e|m|t)"
REQUEST = _alt(
    # en: verb + me/us; "let me know"; "get notified"; "sign me up"; wanting reminders
    r"\b(?:remind|notify|alert|ping|tag|inform|update|message|msg|pm|dm|notif|hmu)s? (?:me|us)\b",
    r"\blet (?:me|us) know\b",
    r"\b(?:tell|text|email|call) (?:me|us)(?= (?:when|whenever|once|if|as soon)\b)",
    r"\bkeep (?:me|us) (?:posted|updated|informed)\b",
    r"\b(?:get|be|being|getting|stay) (?:notified|reminded|alerted|updated|informed|pinged)\b",
    r"\b(?:sign|add|put|count|include|register|enroll) (?:me|us)\b",
    r"\bsubscrib\w*",
    r"\b(?:want|wanna|need|would like|id like|id love|can i get|can i have|turn on|send me|get)"
    r"(?: \w+){0,3}? (?:reminders?|notifications?|notifs?|alerts?|heads? up)\b",
    r"\bheads? up\b",
    r"\brmn?d (?:me|us)\b",
    # tl: affixed verbs (pa-remind, i-notify, ma-remind, paki-update) and sabihan
    r"\b(?:pa ?|paki ?|i|ma|mai|ipa)"
    r"(?:remind|notify|notif|update|message|msg|pm|chat|alert|inform)\w*",
    r"\b(?:pasabi|pakisabi|sabihan|pasabihan|pakisabihan|ipaalam|ipaalala|paalala|paalalahanan"
    r"|balitaan|pabalita|abisuhan|abisohan|paabiso|pakiabiso)\w*",
    r"\b(?:remind|notify|update|message|msg|pm|chat|tag|inform) (?:nyo|niyo|mo|nio)"
    r" (?:ako|kami|ko)\b",
    r"\b(?:isama|isali|pasali|pasama|pajoin)\w*",
    # vi: nhắc / báo / nhắn + a pronoun or "khi" (when); "nhận thông báo"
    rf"\b(?:nhac|bao|nhan tin|nhan|inbox|ib)(?: nho)?(?: cho| giup| dum| ho)?"
    rf" (?:{_PRONOUN_VI}|khi)\b",
    r"\b(?:nhac|bao)$",
    r"\bnhan (?:thong bao|tin bao|nhac)\w*",
    r"\bbat (?:thong bao|nhac)\w*",
    r"\b(?:dang ky|dk|dky) (?:nhan|nhac|thong bao|tin)\w*",
    r"\bduoc (?:bao|nhac)\b",
    r"\bgoi (?:em|minh|e|toi)\b",
    r"\btheo doi thong bao\b",
    # es: avísame, avísenme, recuérdame, me pueden avisar, quiero recibir
    r"\b(?:avis|notific|notifiqu|recuerd|escrib|mand|envi|inform|etiquet)\w+(?:me|nos)\b",
    r"\bme (?:(?:pueden|puedes|podrian|podrias|podes|van a) )?"
    r"(?:avis|notific|notifiqu|recuerd|escrib|mand|envi|inform|etiquet)\w*",
    r"\bquiero (?:recibir|que me)\b",
    r"\bsuscrib\w*",
    r"\b(?:me )?(?:apunt|inscrib)\w*",
    # pt: me avisa, me lembra, quero receber, ativa o lembrete, me inscreve
    r"\bme (?:avis|lembr|notific|marc|coloc|inscrev|inclu)\w*",
    r"\b(?:avis|lembr)\w*(?:me|nos)\b",
    r"\bquero (?:receber|ser (?:avisad|lembrad|notificad)|me inscrever|participar)\w*",
    r"\b(?:ativ|lig)\w* (?:o |a |os |as )?(?:lembrete|notificac|aviso|alerta)\w*",
    r"\b(?:pode|podem|consegue|conseguem) (?:me )?(?:avisar|lembrar|mandar|marcar)\b",
    r"\bavisa (?:nois|nos|a gente)\b",
    # id/ms: ingatkan, kabarin, kasih tau, bagitahu, notif
    r"\b(?:di)?(?:ingatkan|ingetin|ingatin|ingetkan|kabarin|kabari|kabarkan|infoin|infokan"
    r"|beritahu|beritau|bagitahu|bagitau|bgtau|notif|notifin|notifikasi|tagin)\b",
    r"\b(?:kasih|kasi|kase) (?:tau|tahu)\b",
    r"\bdaftar\w*",
    r"\b(?:dapet|dapat|terima|ikut|ikutan|nak) (?:pengingat|peringatan|notif\w*)",
    r"\btag (?:aku|saya|gw|gue)\b",
    # th: แจ้งเตือน (notify), เตือน (remind), บอก (tell), แจ้ง (inform), ทัก (message)
    "แจ้งเตือน|เตือน|บอก|แจ้ง|ทัก|รับข่าว",
)

# The product (or a size) becoming available again: not "in stock now?", not "sold out".
STOCK = _alt(
    r"restock\w*",
    r"\b(?:restok\w*|re stock\w*)",
    r"\b(?:back|new|have|has|in|may|meron|ada|ready|got) (?:stocks?|stok)\b",
    r"\b(?:stocks?|stok) (?:na|ulit|lagi|again)\b",
    r"\b(?:is|are|its|it s|theyre|comes?|coming|gets?|be|goes) back\b",
    r"\b(?:when|whenever|once|if) (?:\w+ ){0,2}?back\b",
    r"\b(?:have|has|get|got) (?:\w+ ){0,3}?(?:again|more)\b",
    r"\bback (?:again|na|ulit)\b",
    r"\bavailable (?:again|na|ulit|lagi|semula)\b",
    r"\b(?:when|whenever|once|if) (?:\w+ ){0,3}?(?:is |are |its |becomes? )?available\b",
    r"\b(?:meron|may \w+(?: \w+)? na|available) ulit\b",
    r"\bpag (?:meron|may) (?:na|stock)\b",
    r"\b(?:ada|ready|masuk|tersedia) (?:lagi|semula|kembali)\b",
    r"\b(?:co hang|co lai|hang lai|hang ve|ve hang|con hang lai|nhap (?:hang|lai|them)|ve lai|ve them)\b",
    r"\b(?:babalik|bumalik|magkaka(?:roon|stock)\w*|dumating)\b",
    r"\b(?:volt\w*|repor|reposic\w*|reponham|de novo|chegar mais)\b",
    r"\b(?:haya|hayan|tengas?|tengan) mas\b",
    r"\b(?:vuelv\w*|llegue\w*|repong\w*|reabastec\w*|haya (?:stock|de nuevo|otra vez))\b",
    r"\b(?:tengan?|tengas|haya|hayan) (?:\w+ ){0,4}?(?:de nuevo|otra vez)\b",
    "ของเข้า|มีของ|สต็อก|สต๊อก|เติมของ|เข้าแล้ว|กลับมา|มีอีก",
)

# A product coming back, as a question asks it ("when will the tote be back?", "kailan
# restock?", "bao giờ có hàng lại", "¿cuándo vuelve?", "quando volta?"): narrower than
# {stock}, which holds "in stock" (now) and is only used next to a request.
RESTOCK = _alt(
    r"\brestock\w*|\brestok\w*|\bre stock\w*",
    r"\b(?:be|is|are|come|comes|coming|gets?|going to be) back\b",
    r"\b(?:back in stock|in stock again|available again|more of|there be more)\b",
    r"\b(?:babalik|bumalik|magkaka(?:roon|stock)\w*|magrerestock|(?:dating|darating) ulit|stock ulit)\b",
    r"\b(?:co hang lai|co lai|hang lai|ve hang|ve lai|ve them|con ve|nhap lai|nhap them|nhap hang)\b",
    r"\b(?:vuelv\w*|volver\w*|repon\w*|reabastec\w*|(?:llega|llegue) de nuevo|traer mas"
    r"|(?:tendran|tendras|tienen) otra vez|(?:les )?llega mas)\b",
    r"\b(?:volta|voltar|volte|voltam|repor|reposicao|reponham|chegar mais|chega mais"
    r"|(?:ter|tiver|tera) de novo)\b",
    r"\b(?:ada|masuk|ready|tersedia|ready stok) (?:lagi|semula|kembali)\b",
    "ของเข้า|เข้าอีก|มีอีก|รีสต็อก|รีสต๊อก|เติมสต็อก|เติมของ|กลับมา",
)

FRAGMENTS: dict[str, str] = {"live": LIVE, "request": REQUEST, "stock": STOCK, "restock": RESTOCK}

# Inside an intent's pattern, {live} stands for this lighter form: a pattern naming {live} is
# only tried once the whole of LIVE (with its exclusions) matched the message, and the
# exclusions' lookarounds at every position made the next-live patterns five times slower.
IN_PATTERN: dict[str, str] = {**FRAGMENTS, "live": _alt(
    r"\blive\w*",
    r"\b(?:mag|nag|pag|ma|maka|naka)(?:la)?live\b",
    r"\b(?:en|ao) (?:vivo|directo)\b",
    r"\b(?:phat truc tiep|len song|siaran langsung)\b",
    "ไลฟ",
)}

# Trigger words in a sense the rules are sure of, when no intent's pattern matched: the
# message is certainly not a request. "{keyword}" is the shop's opt-in keyword.
OTHER_SENSES = _alt(
    # stop, no more, unsubscribe: not about the messages
    r"^stop (?:by|over|at|in|on|and|sa|selling|being|lying|hiding|playing|making)\b",
    r"\b(?:bus|one|non) ?stop\b|\b(?:cant|cannot|dont|never|wont) stop\b",
    r"\bstop (?:the )?(?:music|bidding|video|song|price)\b",
    r"\bno more (?:stocks?|sizes?|items?|colou?rs?|left|pieces?|pcs)\b",
    # a stop word negated means keep: "pls don't unsubscribe me", "wag nyo po ako i-unsubscribe"
    r"\b(?:dont|do not|never|wag|huwag|hwag|no me|nao me|jangan|jgn)\b(?: \w+){0,3}? (?:i|ma|pa)?"
    r"(?:unsub\w*|descadastr\w*|den de baja|des de baja|remove me)\b",
    r"\b(?:i|im|i am|already|ive|i have|i was|were) (?:already |just )?(?:subscribed|signed up|naka ?subscribe)\b",
    r"\bsee (?:you|u|ya) (?:at|in|on) (?:the |your )?(?:next )?lives?\b",
    r"\bremind (?:me|us) (?:to pay|my|of my|how|what|which|the total|the price)\b",
)

# The keyword mentioned, not sent: "comment LIVE to get reminders", "what does LIVE mean?",
# "why is everyone commenting LIVE?". Outranks an opt-in pattern ("... to get reminders").
MENTIONS = _alt(
    r"(?<!\bi )\b(?:comment|commenting|commented|type|typing|typed|write|say|saying)\b.{0,20}\b{keyword}\b",
    r"\b(?:what|whats|wat) (?:does|is|do) {keyword}\b|\b{keyword} mean",
)

# Words whose presence makes a "none" a near miss (worth a human look), for confidence.
TRIGGERS = (
    r"\b(?:lives?|stop\w*|remind\w*|notif\w*|subscrib\w*|unsub\w*|cancel\w*|restock\w*"
    r"|alert\w*)\b|ไลฟ"
)
