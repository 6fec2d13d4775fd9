"""How rules and model decide together, and how the thresholds are chosen on the dev split.

The decision (:func:`decide`), in order:

1. A *certain* rule is final: the shop's keyword or an intent keyword on its own ("LIVE
   po", "stop", "hiii"), an exact example, the keyword spelt out or misspelt alone.
   So are rules for an intent the model was not trained on (a shop's own intent file).
2. Otherwise the model's probabilities are blended with the rules' pattern verdict: the
   rule's intent gets ``rule_weight * rule confidence`` more, and the scores are
   renormalised (they stay probabilities).
3. Opt-out first, whatever else scores higher: when the rules found an opt-out too and the
   blended score is at or above ``opt_out_sure``, the stop is certain; else at or above
   ``opt_out_ask`` it may be one, and the shopper is asked ("Stop live reminders?",
   :attr:`Decision.confirm`); below, it is not an opt-out. The model alone never stops
   anyone: it can only make the spotter ask.
4. Else the best other intent, except that an opt-in needs ``opt_in`` (a wrong opt-in
   is worse than a missed one); below it, the next best intent that is not an opt-in.

:func:`choose` picks the thresholds on labelled rows (the dev split): ``opt_out_ask`` so
that every opt-out there is at least asked about (recall 1.00), at 0.6 of the weakest
one's score; ``opt_out_sure`` above every non-opt-out the rules took for an opt-out, and
at least 0.85 (no one stopped by mistake without being asked); ``opt_in`` the lowest
giving opt-in precision >= 0.98; and the rule weight (0 to 4) with the best macro-F1
under those constraints. A certain rule's opt-out never needs a threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

from dialogue.nlu.corpus import LABELS, Example
from dialogue.nlu.rules import NONE, OPT_IN, OPT_OUT, RuleVerdict

__all__ = ["Decision", "Thresholds", "choose", "decide", "score"]

RULE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
ASK_MARGIN = 0.6  # opt_out_ask = this times the weakest dev opt-out's score
SURE_MARGIN = 0.05  # opt_out_sure sits this far above the strongest non-opt-out the rules took for one
SURE_FLOOR = 0.85
OPT_IN_PRECISION = 0.98


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers :func:`decide` uses (stored in the weights file)."""

    rule_weight: float = 1.0
    opt_out_sure: float = 0.8
    opt_out_ask: float = 0.2
    opt_in: float = 0.6

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}

    @classmethod
    def of(cls, values: Mapping[str, float]) -> Thresholds:
        known = {k: float(v) for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class Decision:
    """An intent, its confidence, whether to ask before acting, and what decided."""

    intent: str
    confidence: float
    confirm: bool
    reason: str
    scores: Mapping[str, float] | None = None


def decide(rule: RuleVerdict, probabilities: Mapping[str, float] | None, t: Thresholds) -> Decision:
    """Combine the rules' verdict and the model's probabilities (``None``: rules alone)."""
    if rule.certain or probabilities is None:
        return Decision(rule.intent, rule.confidence, False, f"rule: {rule.rule}")
    if rule.intent != NONE and rule.intent not in probabilities:
        return Decision(rule.intent, rule.confidence, False, f"rule: {rule.rule} (an intent the model lacks)")
    scores = _blended(rule, probabilities, t.rule_weight)
    how = f"model + {rule.rule}" if rule.intent != NONE and t.rule_weight else "model"
    stop = scores.get(OPT_OUT, 0.0)
    if stop >= t.opt_out_sure and rule.intent == OPT_OUT:
        return Decision(OPT_OUT, stop, False, f"{how}: opt_out {stop:.2f} >= sure {t.opt_out_sure:.2f}", scores)
    if stop >= t.opt_out_ask:
        why = (f"in the ask band [{t.opt_out_ask:.2f}, {t.opt_out_sure:.2f})" if rule.intent == OPT_OUT
               else f">= ask {t.opt_out_ask:.2f}, the rules found no opt-out")
        return Decision(OPT_OUT, stop, True, f"{how}: opt_out {stop:.2f} {why}: ask", scores)
    ranked = sorted(((s, label) for label, s in scores.items() if label != OPT_OUT), reverse=True)
    best, label = ranked[0]
    if label == OPT_IN and best < t.opt_in:
        best, label = ranked[1]
        return Decision(label, best, False, f"{how}: opt_in {ranked[0][0]:.2f} < {t.opt_in:.2f}, "
                                            f"next {label} {best:.2f}", scores)
    return Decision(label, best, False, f"{how}: {label} {best:.2f}", scores)


@dataclass(frozen=True, slots=True)
class Score:
    """Classification figures of predictions against gold labels (an ask counts as opt_out)."""

    accuracy: float
    macro_f1: float
    per_label: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, gold count
    opt_out_recall_at_once: float  # opt-outs stopped without asking

    def recall(self, label: str) -> float:
        return self.per_label[label][1]

    def precision(self, label: str) -> float:
        return self.per_label[label][0]


def score(gold: Sequence[str], decisions: Sequence[Decision], labels: Sequence[str] = LABELS) -> Score:
    predicted = [d.intent for d in decisions]
    per: dict[str, tuple[float, float, float, int]] = {}
    for label in labels:
        tp = sum(p == g == label for p, g in zip(predicted, gold))
        n_pred, n_gold = predicted.count(label), gold.count(label)
        precision = tp / n_pred if n_pred else 1.0
        recall = tp / n_gold if n_gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = (precision, recall, f1, n_gold)
    at_once = [d for d, g in zip(decisions, gold) if g == OPT_OUT]
    return Score(
        accuracy=sum(p == g for p, g in zip(predicted, gold)) / max(1, len(gold)),
        macro_f1=sum(v[2] for v in per.values()) / len(per),
        per_label=per,
        opt_out_recall_at_once=sum(d.intent == OPT_OUT and not d.confirm for d in at_once) / max(1, len(at_once)),
    )


Judge = Callable[[str], tuple[RuleVerdict, Mapping[str, float]]]


def choose(judge: Judge, rows: Sequence[Example]) -> tuple[Thresholds, str]:
    """Thresholds for the rows (the dev split), and a one-paragraph report of the choice.

    ``judge`` gives the rules' verdict and the model's probabilities of a text.
    """
    gold = [r.intent for r in rows]
    seen = [judge(r.text) for r in rows]
    best: tuple[float, Thresholds] | None = None
    for weight in RULE_WEIGHTS:
        t = _thresholds_for(weight, gold, seen)
        s = score(gold, [decide(v, p, t) for v, p in seen])
        if s.recall(OPT_OUT) < 1.0 or s.precision(OPT_IN) < OPT_IN_PRECISION:
            continue
        if best is None or s.macro_f1 > best[0] + 1e-9:
            best = (s.macro_f1, t)
    if best is None:  # the constraints cannot both hold: keep recall, report it
        best = (0.0, _thresholds_for(1.0, gold, seen))
    t = best[1]
    s = score(gold, [decide(v, p, t) for v, p in seen])
    asks = sum(d.confirm for d in (decide(v, p, t) for v, p in seen))
    report = (f"thresholds on {len(rows)} dev rows: {t.as_dict()}; macro-F1 {s.macro_f1:.3f}, "
              f"opt_out recall {s.recall(OPT_OUT):.2f} ({s.opt_out_recall_at_once:.2f} without asking), "
              f"opt_in precision {s.precision(OPT_IN):.3f}, {asks} asked")
    return t, report


def _thresholds_for(weight: float, gold: Sequence[str],
                    seen: Sequence[tuple[RuleVerdict, Mapping[str, float]]]) -> Thresholds:
    """For one rule weight: the opt-out band from the data, then the lowest safe opt-in threshold."""
    stops = [_blended(v, p, weight).get(OPT_OUT, 0.0) if not v.certain else (1.0 if v.intent == OPT_OUT else 0.0)
             for v, p in seen]
    weakest = min((s for s, g in zip(stops, gold) if g == OPT_OUT), default=0.5)
    ask = max(0.05, ASK_MARGIN * weakest)
    # a silent stop needs the rules to agree; above every non-opt-out the rules took for one
    ruled = [s for s, g, (v, _) in zip(stops, gold, seen) if g != OPT_OUT and v.intent == OPT_OUT and not v.certain]
    sure = min(0.99, max(ask, SURE_FLOOR, max(ruled, default=0.0) + SURE_MARGIN))
    t = Thresholds(weight, sure, ask, 0.0)
    for candidate in [x / 100 for x in range(0, 100, 2)]:
        t = Thresholds(weight, sure, ask, candidate)
        s = score(gold, [decide(v, p, t) for v, p in seen])
        if s.precision(OPT_IN) >= OPT_IN_PRECISION:
            break
    return t


def _blended(rule: RuleVerdict, probabilities: Mapping[str, float], weight: float) -> dict[str, float]:
    scores = dict(probabilities)
    boost = weight * rule.confidence if rule.intent != NONE and rule.intent in scores else 0.0
    if boost:
        scores[rule.intent] += boost
        scores = {label: s / (1.0 + boost) for label, s in scores.items()}
    return scores
