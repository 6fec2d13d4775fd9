"""Shared vocabulary of the intent spotter: particles, fillers and regex fragments.

Everything here is written in *normalised* form (casefolded, no diacritics, hyphens and
apostrophes joined: "pa-notify" -> "panotify", "don't" -> "dont"; see
:mod:`bot.nlu.normalize`). Thai has no spaces between words, so its entries are plain
substrings and never rely on ``\\b``.

The fragments (``{live}``, ``{request}``, ``{stock}``) may be used in
:attr:`bot.intent.Intent.patterns`; the spotter expands them when it compiles an intent,
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
    "em oi", "ban oi", "oi",
    "ค่ะ", "คะ", "ครับ", "คับ", "ค่า", "จ้า", "จ้ะ", "น้า", "นะ", "ด้วย",
)

# Particles that only soften when they close the message: Vietnamese "ạ"/"với"
# ("nhắc em với ạ"), Tagalog "ha", Malay "lah", Thai-romanised "ka". Elsewhere they are
# words ("a que hora", "voi" = with).
END_PARTICLES: tuple[str, ...] = (
    "a", "ka", "kha", "krub", "ha", "voi", "la", "lah", "ne", "nhi", "nhe", "di",
)

# Thai particles glued to the end of a word ("สวัสดีค่ะ"); normalisation splits them off.
THAI_TAIL_PARTICLES: tuple[str, ...] = (
    "ค่ะ", "คะ", "ครับ", "คับ", "ค่า", "จ้า", "จ้ะ", "น้า", "นะ", "ด้วย",
)

# Words that may surround a bare keyword without turning it into a sentence: "LIVE din
# ako po", "#LIVE here", "stop na", "LIVE?".
FILLERS: tuple[str, ...] = (
    "here", "me", "too", "me too", "also", "din", "rin", "ako", "ako din", "aku",
    "aku juga", "saya", "juga", "yo", "tambien", "yo tambien", "em", "minh", "toi",
    "shop", "admin", "ad", "seller", "yes", "yup", "yep", "oo", "opo", "si", "iya", "ok",
    "okay", "?",
)

# Real words one edit away from likely keywords: never read them as a misspelt keyword
# ("love" is not "live", "safe" is not "sale").
COMMON_WORDS: frozenset[str] = frozenset(
    """love like life line lie lied lies lime lice lite lave leve lives lived liver liven
    lovely liked lima lina lino lisa lista vive vivo vida
    sake safe sole same sage sane sala sali salt sales sail sal
    stock stop step stap shop ship slip top stops
    join jon joint john
    hi ho he ha hey yes yep nope none nice good cool wow omg lol haha hehe okay ok
    mine min mio mia kita kami kayo siya ano ito iya aja""".split()
)


def _top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` has an alternation ``|`` outside any group or class."""
    depth, i, in_class = 0, 0, False
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
            return True
        i += 1
    return False


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
    r"\b(?:want|wanna|need|would like|id like|can i get|can i have|turn on|send me)"
    r"(?: \w+){0,3}? (?:reminders?|notifications?|notifs?|alerts?)\b",
    # tl: affixed verbs (pa-remind, i-notify, ma-remind, paki-update) and sabihan
    r"\b(?:pa ?|paki ?|i|ma|mai|ipa)"
    r"(?:remind|notify|notif|update|message|msg|pm|chat|alert|inform)\w*",
    r"\b(?:pasabi|pakisabi|sabihan|pasabihan|pakisabihan|ipaalam|ipaalala|paalala|paalalahanan"
    r"|balitaan|pabalita|abisuhan|abisohan|paabiso|pakiabiso)\w*",
    r"\b(?:remind|notify|update|message|msg|pm|chat|tag|inform) (?:nyo|niyo|mo|nio)"
    r" (?:ako|kami|ko)\b",
    # vi: nhắc / báo / nhắn + a pronoun or "khi" (when); "nhận thông báo"
    rf"\b(?:nhac|bao|nhan tin|nhan|inbox|ib)(?: nho)?(?: cho| giup| dum| ho)?"
    rf" (?:{_PRONOUN_VI}|khi)\b",
    r"\b(?:nhac|bao)$",
    r"\bnhan (?:thong bao|tin bao)\b",
    # es: avísame, avísenme, recuérdame, me pueden avisar, quiero recibir
    r"\b(?:avis|notific|recuerd|escrib|mand|envi|inform|etiquet)\w+(?:me|nos)\b",
    r"\bme (?:(?:pueden|puedes|podrian|podrias|podes|van a) )?"
    r"(?:avis|notific|recuerd|escrib|mand|envi|inform|etiquet)\w*",
    r"\bquiero (?:recibir|que me)\b",
    r"\bsuscrib\w*",
    # id/ms: ingatkan, kabarin, kasih tau, bagitahu, notif
    r"\b(?:di)?(?:ingatkan|ingetin|ingatin|ingetkan|kabarin|kabari|kabarkan|infoin|infokan"
    r"|beritahu|beritau|bagitahu|bagitau|bgtau|notif|notifin|notifikasi|tagin)\b",
    r"\b(?:kasih|kasi|kase) (?:tau|tahu)\b",
    # th: แจ้งเตือน (notify), เตือน (remind), บอก (tell), แจ้ง (inform), ทัก (message)
    "แจ้งเตือน|เตือน|บอก|แจ้ง|ทัก",
)

# The product (or a size) becoming available again: not "in stock now?", not "sold out".
STOCK = _alt(
    r"restock\w*",
    r"\b(?:restok\w*|re stock\w*)",
    r"\b(?:back|new|have|has|in|may|meron|ada|ready|got) (?:stocks?|stok)\b",
    r"\b(?:stocks?|stok) (?:na|ulit|lagi|again)\b",
    r"\b(?:is|are|its|it s|theyre|comes?|coming|gets?|be|goes) back\b",
    r"\bback (?:again|na|ulit)\b",
    r"\bavailable (?:again|na|ulit|lagi|semula)\b",
    r"\b(?:when|whenever|once|if) (?:\w+ ){0,3}?(?:is |are |its |becomes? )?available\b",
    r"\b(?:meron|may \w+(?: \w+)? na|available) ulit\b",
    r"\bpag (?:meron|may) (?:na|stock)\b",
    r"\b(?:ada|ready|masuk|tersedia) (?:lagi|semula|kembali)\b",
    r"\b(?:co hang|co lai|hang lai|hang ve|ve hang|con hang lai|nhap (?:hang|lai|them))\b",
    r"\b(?:vuelv\w*|llegue\w*|repong\w*|reabastec\w*|haya (?:stock|de nuevo|otra vez))\b",
    r"\b(?:tengan?|tengas|haya|hayan) (?:\w+ ){0,4}?(?:de nuevo|otra vez)\b",
    "ของเข้า|มีของ|สต็อก|สต๊อก|เติมของ|เข้าแล้ว|กลับมา|มีอีก",
)

FRAGMENTS: dict[str, str] = {"live": LIVE, "request": REQUEST, "stock": STOCK}

# Words whose presence makes a "none" a near miss (worth a human look), for confidence.
TRIGGERS = (
    r"\b(?:lives?|stop\w*|remind\w*|notif\w*|subscrib\w*|unsub\w*|cancel\w*|restock\w*"
    r"|alert\w*)\b|ไลฟ"
)
