"""The rules of the intent spotter: keyword shapes, exact examples and patterns, multilingual.

:class:`Rules` compiles a list of :class:`~dialogue.intent.Intent` declarations once and then
gives each message a :class:`RuleVerdict` with a handful of precompiled regex operations.
The spotter (:class:`dialogue.nlu.spotter.Spotter`) takes a *certain* verdict as final and
weighs the others against the learned model.

Decision order: intents are tried from the highest ``priority`` down and the first
priority level with any match wins (within a level, the most confident match). With the
built-in priorities an opt-out outranks everything, so "STOP LIVE" or "don't remind me"
is never read as a request.

Evidence, the confidence it gives, and whether it is certain:

- 0.99 certain: the shop's opt-in keyword on its own, in any shape ("LIVE", "liveee po 🔴",
  "#LIVE here", "LIVE din ako", "LIVE kak");
- 0.97 certain: an intent's example, exactly (after normalisation);
- 0.95 certain: an intent keyword on its own ("stop po", "hiii", "unsubscribe"), or the
  opt-in keyword first in a message that tags a friend ("LIVE! @Jenny Reyes ...");
- 0.90 certain: the opt-in keyword spelt out ("L I V E"); 0.80 certain: misspelt on its
  own (one edit or swap: "liev", "lvie");
- 0.90 a pattern of the intent in a short message, 0.80 in a long one (> 20 words);
- 0.90 the opt-in keyword typed in capitals first, then other words ("LIVE po, mine na yung
  red", "LIVE 💖 from Manila"); 0.85 an opt-out word misspelt on its own ("stpo", "sotp");
- ``none`` 0.9 certain: a trigger word in a sense the rules know is not a request ("stop by",
  "no more stock?", "comment LIVE to get reminders", "I subscribed already");
- ``none`` 0.3 when a trigger word (live, stop, remind, ...) was seen and ruled out, else 0.0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dialogue.intent import Intent
from dialogue.nlu.lexicon import (
    COMMON_WORDS,
    CONTINUING,
    END_PARTICLES,
    FILLERS,
    FUZZY_STOPS,
    MENTIONS,
    OTHER_SENSES,
    PARTICLES,
    THANKS_AND_ASSENT,
    TRIGGERS,
)
from dialogue.nlu.normalize import normalize, squeeze, strip_particles
from dialogue.nlu.patterns import FRAGMENT_RE, compile_patterns, keys, one_edit, phrases

__all__ = ["GREETING", "NONE", "OPT_IN", "OPT_OUT", "Message", "RuleVerdict", "Rules"]

NONE = "none"
OPT_IN = "opt_in_reminders"
OPT_OUT = "opt_out"
GREETING = "greeting"  # its keywords may open any other intent's keyword ("hi LIVE")
_OPT_IN_PRIORITY = 30  # used when no opt_in_reminders intent is declared
_SHORT = 60  # characters: longer messages are sentences, never bare keywords
_LONG_WORDS = 20
_FIRST_WORD = re.compile(r"[\W_]*([^\W\d_]+)")


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules found: an intent (or ``"none"``), its confidence, the rule, and whether it is final."""

    intent: str
    confidence: float
    rule: str
    certain: bool = False


class Message:
    """A message as patterns see it, with each fragment searched at most once."""

    __slots__ = ("norm", "seen", "words")

    def __init__(self, norm: str) -> None:
        self.norm = norm  # particles stripped: what patterns search
        self.words = norm.count(" ") + 1
        self.seen: dict[str, bool] = {}

    def has(self, fragment: str) -> bool:
        found = self.seen.get(fragment)
        if found is None:
            found = self.seen[fragment] = FRAGMENT_RE[fragment].search(self.norm) is not None
        return found


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    priority: int
    groups: list[tuple[tuple[str, ...], re.Pattern[str]]]

    def search(self, m: Message) -> float:
        for needs, regex in self.groups:
            for fragment in needs:
                if not m.has(fragment):
                    break
            else:
                if regex.search(m.norm):
                    return 0.9 if m.words <= _LONG_WORDS else 0.8
        return 0.0


class Rules:
    """Label shopper messages with one of ``intents`` or ``"none"``, by rules alone.

    ``optin_keywords`` are what the shop asks viewers to comment to get live reminders
    ("LIVE" by default); they count only when sent on their own, or first with a friend
    tagged, not inside a sentence ("why is everyone commenting LIVE?" is ``none``).
    ``foreign_keywords`` are keywords the learned model was trained with that this shop
    does not use: sent on their own they are certainly ``none`` here.
    """

    def __init__(self, intents: Sequence[Intent], optin_keywords: Sequence[str] = ("LIVE",),
                 foreign_keywords: Sequence[str] = ()) -> None:
        names = [i.name for i in intents]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate intent names in {names}")
        optin = keys(optin_keywords)
        if not optin:
            raise ValueError("optin_keywords must hold at least one non-empty keyword")
        self.names = frozenset(names) | {OPT_IN}
        openers = [k for i in intents if i.name == GREETING for k in i.keywords]
        plain = [*PARTICLES, *END_PARTICLES, *FILLERS, *openers]
        fillers = phrases([*plain, *THANKS_AND_ASSENT])
        greeting_fillers = phrases(plain)
        self._fillers = re.compile(rf"(?<!\S)(?:{fillers})(?!\S)")
        ordered = sorted(intents, key=lambda i: -i.priority)  # stable for equal priorities
        priority = {i.name: i.priority for i in intents}
        priority.setdefault(OPT_IN, _OPT_IN_PRIORITY)

        # One fullmatch decides "the message is just keyword(s) + filler", for every
        # intent at once; branches in decision order, the shop's keyword first among equals.
        shapes = [(OPT_IN, priority[OPT_IN], phrases(optin), 0.99)]
        shapes += [(i.name, i.priority, phrases(i.keywords), 0.95) for i in ordered if i.keywords]
        foreign = [k for k in keys(foreign_keywords) if k not in optin]
        if foreign:
            shapes.append((NONE, priority[OPT_IN], phrases(foreign), 0.9))
        shapes.sort(key=lambda s: -s[1])
        self._shape_hits = {f"k{n}": (s[0], s[3]) for n, s in enumerate(shapes)}
        # every token of a shape is a token of a keyword or filler phrase: a set test skips the regex
        shape_phrases = keys([*plain, *THANKS_AND_ASSENT, *optin, *foreign,
                         *(k for i in intents for k in i.keywords)])
        self._shape_tokens = frozenset(t for k in shape_phrases for t in k.split())
        self._shaped = re.compile(
            "|".join(
                rf"(?P<k{n}>(?:(?:{f}) )*(?:{kw})(?: (?:{kw}|{f}))*)"
                for n, (name, _, kw, _) in enumerate(shapes)
                for f in [greeting_fillers if name == GREETING else fillers]
            )
        )

        self._examples: dict[str, str] = {}
        for intent in reversed(ordered):  # higher priority wins a shared example
            for example in intent.examples:
                self._examples[normalize(example)] = intent.name
        self._rules = [
            _Rule(i.name, i.priority, compile_patterns(i.patterns, i.name)) for i in ordered
        ]
        if OPT_IN not in names:
            self._rules.append(_Rule(OPT_IN, priority[OPT_IN], []))
            self._rules.sort(key=lambda r: -r.priority)
        self._optin_first = re.compile(rf"(?:{phrases(optin)})\b")
        self._optin_single = tuple(k for k in optin if " " not in k and len(k) >= 4)
        self._optin_single_set = frozenset(k for k in optin if " " not in k)
        self._optin_spelled = frozenset(k.replace(" ", "") for k in optin)
        self._trigger = re.compile(rf"{TRIGGERS}|\b(?:{phrases(optin)})\b")
        self._other_sense = re.compile(OTHER_SENSES)
        self._mention = re.compile(MENTIONS.replace("{keyword}", f"(?:{phrases(optin)})"))

    def verdict(self, folded: str, tagged: bool = False, raw: str = "", message: Message | None = None
                ) -> RuleVerdict:
        """The rules' verdict on a :func:`~dialogue.nlu.normalize.fold`-ed message (``raw``: as typed).

        ``message``: the :class:`Message` of ``folded``, when the caller keeps it to share
        its fragment searches (the learned model's features use them too).
        """
        if not folded:
            return RuleVerdict(NONE, 0.0, "empty", certain=True)
        m = message if message is not None else Message(strip_particles(folded))
        norm = m.norm
        certain: dict[str, tuple[float, str]] = {}
        example = self._examples.get(norm.replace(" ?", "").lstrip("? "))
        if example is not None:
            certain[example] = (0.97, "example")
        sq = squeeze(folded) if len(folded) <= _SHORT or tagged or raw else ""
        if len(folded) <= _SHORT:
            tokens = sq.split()
            shaped = self._shaped.fullmatch(sq) if self._shape_tokens.issuperset(tokens) else None
            if shaped is not None and shaped.lastgroup is not None:
                name, conf = self._shape_hits[shaped.lastgroup]
                if name == NONE:
                    return RuleVerdict(NONE, conf, "another shop's keyword", certain=True)
                rule = "the opt-in keyword" if conf == 0.99 else f"{name} keyword"
                if conf > certain.get(name, (0.0, ""))[0]:
                    certain[name] = (conf, rule)
            elif OPT_IN not in certain and len(tokens) <= 4:
                rest = self._fillers.sub(" ", sq).split()
                conf, rule = self._keyword_variant(tokens, rest)
                if conf:
                    certain[OPT_IN] = (conf, rule)
                elif OPT_OUT in self.names and self._stop_variant(rest):
                    return RuleVerdict(OPT_OUT, 0.85, "an opt-out word misspelt")
        # "LIVE! @Jenny Reyes sabay tayo": the keyword typed first, then a friend tagged
        if tagged and OPT_IN not in certain and self._optin_first.match(sq[:_SHORT]):
            certain[OPT_IN] = (0.95, "the opt-in keyword, then a tag")
        if not certain and raw and self._shouted_first(raw, folded, sq):
            return RuleVerdict(OPT_IN, 0.9, "the opt-in keyword in capitals, first")
        best, best_conf, sure, level = "", 0.0, False, -(10**9)
        for candidate in self._rules:
            if candidate.priority < level:
                break
            hit = certain.get(candidate.name)
            conf = hit[0] if hit else candidate.search(m)
            if conf > best_conf:
                best, best_conf, sure, level = candidate.name, conf, hit is not None, candidate.priority
        if best in ("", OPT_IN) and self._mention.search(norm):
            return RuleVerdict(NONE, 0.9, "the opt-in keyword mentioned, not sent", certain=True)
        if best:
            why = certain[best][1] if sure else f"{best} pattern"
            return RuleVerdict(best, best_conf, why, certain=sure)
        if self._other_sense.search(norm):
            return RuleVerdict(NONE, 0.9, "a trigger word in another sense", certain=True)
        if self._trigger.search(folded):
            return RuleVerdict(NONE, 0.3, "trigger word ruled out")
        return RuleVerdict(NONE, 0.0, "no rule")

    def _shouted_first(self, raw: str, folded: str, sq: str) -> bool:
        """"LIVE po, mine na yung red": the keyword in capitals opens a short message that goes on."""
        if len(folded) > _SHORT or "?" in folded:
            return False
        first = _FIRST_WORD.match(raw)
        if first is None or not first.group(1).isupper():
            return False
        tokens = sq.split()
        return len(tokens) > 1 and tokens[0] in self._optin_single_set and tokens[1] not in CONTINUING

    def _stop_variant(self, rest: list[str]) -> bool:
        """"stpo", "sotp", "unsubcribe" on their own (with fillers at most)."""
        if len(rest) != 1 or len(rest[0]) < 3 or rest[0] in COMMON_WORDS:
            return False
        return any(one_edit(rest[0], k) for k in FUZZY_STOPS)

    def _keyword_variant(self, tokens: list[str], rest: list[str]) -> tuple[float, str]:
        """The opt-in keyword spelt out ("L I V E") or misspelt ("liev"), on its own.

        ``tokens``: the squeezed message's words; ``rest``: those left once fillers are gone.
        """
        letters = [t for t in tokens if len(t) == 1 and t.isalpha()]
        if len(letters) > 2 and "".join(letters) in self._optin_spelled:  # "L I V E"
            others = " ".join(t for t in tokens if len(t) > 1 or not t.isalpha())
            return (0.0, "") if self._fillers.sub(" ", others).strip() else (0.9, "the opt-in keyword spelt out")
        if len(rest) != 1:
            return 0.0, ""
        word = rest[0]
        if len(word) < 3 or word in COMMON_WORDS:
            return 0.0, ""
        for k in self._optin_single:
            if (word[0] == k[0] or word[:2] == k[1::-1]) and one_edit(word, k):
                return 0.8, "the opt-in keyword misspelt"
        return 0.0, ""
