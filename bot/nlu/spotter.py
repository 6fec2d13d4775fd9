"""Rule-based, multilingual intent spotter.

:class:`Spotter` compiles a list of :class:`~bot.intent.Intent` declarations once and
then labels each message with a handful of precompiled regex operations.

Decision order: intents are tried from the highest ``priority`` down and the first
priority level with any match wins (within a level, the most confident match). With the
built-in priorities an opt-out outranks everything, so "STOP LIVE" or "don't remind me"
is never read as a request.

Evidence, and the confidence it gives:

- 0.99 the shop's opt-in keyword on its own, in any shape ("LIVE", "liveee po 🔴", "#LIVE
  here", "LIVE din ako", "LIVE kak");
- 0.97 an intent's example, exactly (after normalisation);
- 0.95 an intent keyword on its own ("stop po", "hiii", "unsubscribe"), or the opt-in
  keyword first in a message that tags a friend ("LIVE! @Jenny Reyes ...");
- 0.90 a pattern of the intent in a short message, 0.80 in a long one (> 20 words);
- 0.90 the opt-in keyword spelt out ("L I V E"); 0.80 misspelt on its own (one edit or
  swap: "liev", "lvie");
- ``none`` 0.3 when a trigger word (live, stop, remind, ...) was seen and ruled out, else 0.0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.intent import Intent
from bot.nlu.lexicon import (
    COMMON_WORDS,
    END_PARTICLES,
    FILLERS,
    FRAGMENTS,
    PARTICLES,
    TRIGGERS,
    alternation,
)
from bot.nlu.normalize import fold, normalize, squeeze, strip_particles

__all__ = ["GREETING", "NONE", "OPT_IN", "Spotted", "Spotter"]

NONE = "none"
OPT_IN = "opt_in_reminders"
GREETING = "greeting"  # its keywords may open any other intent's keyword ("hi LIVE")
_OPT_IN_PRIORITY = 30  # used when no opt_in_reminders intent is declared
_SHORT = 60  # characters: longer messages are sentences, never bare keywords
_LONG_WORDS = 20
_MAX_CHARS = 2000  # Messenger's limit for one text message; bounds the work per message
_FRAGMENT = re.compile(r"(?<!\\)\{([a-z_]+)\}")
_FRAGMENT_RE = {name: re.compile(fragment) for name, fragment in FRAGMENTS.items()}
_FRAGMENT_COST = {"live": 0, "stock": 1, "request": 2}  # cheapest test first


@dataclass(frozen=True, slots=True)
class Spotted:
    """The spotter's verdict: an intent name (or ``"none"``) and how strong the evidence is."""

    intent: str
    confidence: float


class _Message:
    """A message as patterns see it, with each fragment searched at most once."""

    __slots__ = ("norm", "seen", "words")

    def __init__(self, norm: str) -> None:
        self.norm = norm  # particles stripped: what patterns search
        self.words = norm.count(" ") + 1
        self.seen: dict[str, bool] = {}

    def has(self, fragment: str) -> bool:
        found = self.seen.get(fragment)
        if found is None:
            found = self.seen[fragment] = _FRAGMENT_RE[fragment].search(self.norm) is not None
        return found


def _keys(words: Sequence[str]) -> list[str]:
    """Keyword phrases in the form they are matched in: folded and squeezed."""
    return sorted({k for k in (squeeze(fold(w)[0]) for w in words) if k}, key=len, reverse=True)


def _phrases(words: Sequence[str]) -> str:
    """Escaped regex alternation of keyword phrases, longest first."""
    return "|".join(re.escape(k) for k in _keys(words))


def _compile_patterns(
    patterns: Sequence[str], intent: str
) -> list[tuple[tuple[str, ...], re.Pattern[str]]]:
    """Group an intent's patterns by the fragments they name; one regex per group.

    A pattern naming ``{live}`` can only match a message containing a live, so a group is
    tried only when every fragment it names occurs in the message: most messages then
    skip most patterns.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for pattern in patterns:
        names = set(_FRAGMENT.findall(pattern))
        unknown = names - FRAGMENTS.keys()
        if unknown:
            raise ValueError(f"intent {intent!r}: unknown fragment(s) {unknown} in {pattern!r}")
        expanded = _FRAGMENT.sub(lambda m: FRAGMENTS[m.group(1)], pattern)
        try:
            re.compile(expanded)
        except re.error as exc:
            raise ValueError(f"intent {intent!r}: bad pattern {pattern!r}: {exc}") from exc
        key = tuple(sorted(names, key=lambda n: (_FRAGMENT_COST.get(n, 9), n)))
        groups.setdefault(key, []).append(expanded)
    return [(names, re.compile(alternation(group))) for names, group in groups.items()]


def _one_edit(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    la, lb = len(a), len(b)
    if a == b or abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    priority: int
    groups: list[tuple[tuple[str, ...], re.Pattern[str]]]

    def search(self, m: _Message) -> float:
        for needs, regex in self.groups:
            for fragment in needs:
                if not m.has(fragment):
                    break
            else:
                if regex.search(m.norm):
                    return 0.9 if m.words <= _LONG_WORDS else 0.8
        return 0.0


class Spotter:
    """Label shopper messages with one of ``intents`` or ``"none"``.

    ``optin_keywords`` are what the shop asks viewers to comment to get live reminders
    ("LIVE" by default); they count only when sent on their own, not inside a sentence
    ("why is everyone commenting LIVE?" is ``none``).
    """

    def __init__(
        self, intents: Sequence[Intent], optin_keywords: Sequence[str] = ("LIVE",)
    ) -> None:
        names = [i.name for i in intents]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate intent names in {names}")
        optin = _keys(optin_keywords)
        if not optin:
            raise ValueError("optin_keywords must hold at least one non-empty keyword")
        openers = [k for i in intents if i.name == GREETING for k in i.keywords]
        fillers = _phrases([*PARTICLES, *END_PARTICLES, *FILLERS, *openers])
        self._fillers = re.compile(rf"(?<!\S)(?:{fillers})(?!\S)")
        ordered = sorted(intents, key=lambda i: -i.priority)  # stable for equal priorities
        priority = {i.name: i.priority for i in intents}
        priority.setdefault(OPT_IN, _OPT_IN_PRIORITY)

        # One fullmatch decides "the message is just keyword(s) + filler", for every
        # intent at once; branches in decision order, the shop's keyword first among equals.
        shapes = [(OPT_IN, priority[OPT_IN], _phrases(optin), 0.99)]
        shapes += [(i.name, i.priority, _phrases(i.keywords), 0.95) for i in ordered if i.keywords]
        shapes.sort(key=lambda s: -s[1])
        self._shape_hits = {f"k{n}": (s[0], s[3]) for n, s in enumerate(shapes)}
        self._shaped = re.compile(
            "|".join(
                rf"(?P<k{n}>(?:(?:{fillers}) )*(?:{kw})(?: (?:{kw}|{fillers}))*)"
                for n, (_, _, kw, _) in enumerate(shapes)
            )
        )

        self._examples: dict[str, str] = {}
        for intent in reversed(ordered):  # higher priority wins a shared example
            for example in intent.examples:
                self._examples[normalize(example)] = intent.name
        self._rules = [
            _Rule(i.name, i.priority, _compile_patterns(i.patterns, i.name)) for i in ordered
        ]
        if OPT_IN not in names:
            self._rules.append(_Rule(OPT_IN, priority[OPT_IN], []))
            self._rules.sort(key=lambda r: -r.priority)
        self._optin_first = re.compile(rf"(?:{_phrases(optin)})\b")
        self._optin_single = tuple(k for k in optin if " " not in k and len(k) >= 4)
        self._optin_spelled = frozenset(k.replace(" ", "") for k in optin)
        self._trigger = re.compile(rf"{TRIGGERS}|\b(?:{_phrases(optin)})\b")

    def spot(self, text: str) -> Spotted:
        """Return the intent of one message (any language, any casing, emoji welcome)."""
        folded, tagged = fold(text[:_MAX_CHARS])
        if not folded:
            return Spotted(NONE, 0.0)
        norm = strip_particles(folded)
        hits: dict[str, float] = {}
        example = self._examples.get(norm.replace(" ?", "").lstrip("? "))
        if example is not None:
            hits[example] = 0.97
        if len(folded) <= _SHORT:
            sq = squeeze(folded)
            shaped = self._shaped.fullmatch(sq)
            if shaped is not None and shaped.lastgroup is not None:
                name, conf = self._shape_hits[shaped.lastgroup]
                hits[name] = max(conf, hits.get(name, 0.0))
            elif OPT_IN not in hits:
                conf = self._keyword_variant(sq)
                if conf:
                    hits[OPT_IN] = conf
        # "LIVE! @Jenny Reyes sabay tayo": the keyword typed first, then a friend tagged
        if tagged and OPT_IN not in hits and self._optin_first.match(squeeze(folded[:_SHORT])):
            hits[OPT_IN] = 0.95
        m = _Message(norm)
        best, best_conf, level = NONE, 0.0, -(10**9)
        for rule in self._rules:
            if rule.priority < level:
                break
            conf = hits.get(rule.name) or rule.search(m)
            if conf > best_conf:
                best, best_conf, level = rule.name, conf, rule.priority
        if best != NONE:
            return Spotted(best, best_conf)
        return Spotted(NONE, 0.3 if self._trigger.search(folded) else 0.0)

    def _keyword_variant(self, sq: str) -> float:
        """The opt-in keyword spelt out ("L I V E") or misspelt ("liev"), on its own."""
        tokens = sq.split()
        letters = [t for t in tokens if len(t) == 1 and t.isalpha()]
        if len(letters) > 2 and "".join(letters) in self._optin_spelled:  # "L I V E"
            others = " ".join(t for t in tokens if len(t) > 1 or not t.isalpha())
            return 0.0 if self._fillers.sub(" ", others).strip() else 0.9
        if len(tokens) > 4:
            return 0.0
        rest = self._fillers.sub(" ", sq).split()
        if len(rest) != 1:
            return 0.0
        word = rest[0]
        if len(word) < 3 or word in COMMON_WORDS:
            return 0.0
        for k in self._optin_single:
            if (word[0] == k[0] or word[:2] == k[1::-1]) and _one_edit(word, k):
                return 0.8
        return 0.0
