"""The intent spotter: rules where they are certain, a learned model for the rest.

>>> from dialogue.intent import discover
>>> spotter = Spotter(discover("intents"))
>>> spotter.spot("LIVE po 🔴")
Spotted(intent='opt_in_reminders', confidence=0.99, confirm=False)

A message is folded once (:func:`~dialogue.nlu.normalize.fold`); the rules
(:class:`~dialogue.nlu.rules.Rules`) give their verdict, and unless it is certain the model
(:class:`~dialogue.nlu.model.LinearModel`) gives probabilities; :func:`~dialogue.nlu.combine.decide`
combines them with the thresholds stored beside the weights. An opt-out that is likely
but not certain comes back with ``confirm=True``: the dialogue asks the shopper before
stopping anything. :meth:`Spotter.explain` says what decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from dialogue.intent import Intent
from dialogue.nlu.combine import Decision, Thresholds, decide
from dialogue.nlu.model import DEFAULT_WEIGHTS, LinearModel
from dialogue.nlu.normalize import fold, strip_particles
from dialogue.nlu.rules import NONE, Message, Rules, RuleVerdict

__all__ = ["Explanation", "Spotted", "Spotter", "default_model", "model_setting"]

_MAX_CHARS = 2000  # Messenger's limit for one text message; bounds the work per message


@dataclass(frozen=True, slots=True)
class Spotted:
    """The spotter's verdict: an intent name (or ``"none"``), how strong the evidence is, and
    whether to ask the shopper before acting on it (a likely but uncertain opt-out)."""

    intent: str
    confidence: float
    confirm: bool = False


@dataclass(frozen=True)
class Explanation:
    """Why a message got its intent: the rules' verdict, the model's scores, the thresholds."""

    text: str
    spotted: Spotted
    decided_by: str
    rule: RuleVerdict
    probabilities: Mapping[str, float] | None
    thresholds: Thresholds | None
    scores: Mapping[str, float] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        def rounded(values: Mapping[str, float] | None) -> dict[str, float] | None:
            return None if values is None else {k: round(v, 3) for k, v in values.items()}

        return {
            "text": self.text, "intent": self.spotted.intent, "confidence": self.spotted.confidence,
            "confirm": self.spotted.confirm, "decided_by": self.decided_by,
            "rule": {"intent": self.rule.intent, "confidence": self.rule.confidence, "rule": self.rule.rule,
                     "certain": self.rule.certain},
            "model": rounded(self.probabilities), "blended": rounded(self.scores),
            "thresholds": self.thresholds.as_dict() if self.thresholds else None,
        }


@lru_cache(maxsize=4)
def default_model(path: Path = DEFAULT_WEIGHTS) -> LinearModel:
    """The weights at ``path``, parsed once per process."""
    return LinearModel.load(path)


def model_setting(value: str) -> LinearModel | None:
    """The model ``NLU_WEIGHTS`` names: empty for the shipped weights, ``none`` for rules alone,
    else a weights file (a :class:`~dialogue.nlu.model.ModelError` says why one cannot be used)."""
    value = value.strip()
    if value.lower() in ("none", "off", "rules"):
        return None
    return default_model(Path(value).expanduser().resolve() if value else DEFAULT_WEIGHTS)


class Spotter:
    """Label shopper messages with one of ``intents`` or ``"none"``.

    ``optin_keywords`` are what the shop asks viewers to comment to get live reminders
    ("LIVE" by default). ``model`` is the learned part: ``"default"`` for the shipped
    weights, a :class:`LinearModel` (e.g. a shop's own, ``NLU_WEIGHTS``), or ``None`` for
    rules alone.
    """

    def __init__(self, intents: Sequence[Intent], optin_keywords: Sequence[str] = ("LIVE",),
                 model: LinearModel | Literal["default"] | None = "default") -> None:
        self.model = default_model() if model == "default" else model
        foreign = self.model.trained.get("optin_keywords", ("LIVE",)) if self.model else ()
        self.rules = Rules(intents, optin_keywords, foreign_keywords=foreign)
        self.thresholds = Thresholds.of(self.model.thresholds) if self.model else None
        # the model only speaks for intents this deployment declares
        self._keep = frozenset(self.model.labels) & (self.rules.names | {NONE}) if self.model else frozenset()

    def spot(self, text: str) -> Spotted:
        """Return the intent of one message (any language, any casing, emoji welcome)."""
        decision, _, _ = self._decide(text)
        return Spotted(decision.intent, round(decision.confidence, 3), decision.confirm)

    def explain(self, text: str) -> Explanation:
        """The verdict and what decided it (``salebell nlu --explain``)."""
        decision, rule, probabilities = self._decide(text)
        spotted = Spotted(decision.intent, round(decision.confidence, 3), decision.confirm)
        return Explanation(text, spotted, decision.reason, rule, probabilities, self.thresholds, decision.scores)

    def decision(self, text: str) -> Decision:
        """The full decision (with its reason and, for the model, the blended scores)."""
        return self._decide(text)[0]

    def judge(self, text: str) -> tuple[RuleVerdict, Mapping[str, float]]:
        """The rules' verdict and the model's probabilities, for choosing thresholds."""
        folded, tagged = fold(text[:_MAX_CHARS])
        m = Message(strip_particles(folded))
        return self.rules.verdict(folded, tagged, text, m), self._probabilities(folded, tagged, m)

    def _decide(self, text: str) -> tuple[Decision, RuleVerdict, Mapping[str, float] | None]:
        folded, tagged = fold(text[:_MAX_CHARS])
        m = Message(strip_particles(folded))
        rule = self.rules.verdict(folded, tagged, text, m)
        if rule.certain or self.thresholds is None:
            return decide(rule, None, Thresholds()), rule, None
        probabilities = self._probabilities(folded, tagged, m)
        return decide(rule, probabilities, self.thresholds), rule, probabilities

    def _probabilities(self, folded: str, tagged: bool, m: Message) -> dict[str, float]:
        if self.model is None:
            return {}
        p = self.model.probabilities(folded, tagged, m.norm, m.seen)
        if len(self._keep) == len(p):
            return p
        kept = {label: v for label, v in p.items() if label in self._keep}
        total = sum(kept.values()) or 1.0
        return {label: v / total for label, v in kept.items()}
