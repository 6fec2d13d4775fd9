"""Accuracy and speed of the intent spotter on a labelled TSV, against a naive baseline.

    .venv/bin/python bench/nlu.py [--data PATH] [--repeat N] [--keyword LIVE ...]

The default data is ``../shared/nlu/dev.tsv`` beside the checkout (text, intent, lang,
source; no quoting, texts not stripped). The baseline is what one writes first: an intent
if any of its keywords occurs in the lowercased text, tried in priority order.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the checkout importable
    sys.path.insert(0, str(ROOT))

from bot.intent import Intent, discover  # noqa: E402
from bot.nlu import Spotter  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "nlu" / "dev.tsv"
NONE = "none"


def load(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs; the text is kept exactly as typed."""
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        next(f)  # header
        for line in f:
            fields = line.rstrip("\r\n").split("\t")
            rows.append((fields[0], fields[1]))
    return rows


def baseline(intents: Sequence[Intent], optin_keywords: Sequence[str]) -> Callable[[str], str]:
    """Naive spotter: first intent (by priority) with a keyword in the lowercased text."""
    table = [
        (i.name, [k.lower() for k in i.keywords]
         + ([k.lower() for k in optin_keywords] if i.name == "opt_in_reminders" else []))
        for i in sorted(intents, key=lambda i: -i.priority)
    ]

    def spot(text: str) -> str:
        low = text.lower()
        for name, keywords in table:
            if any(k in low for k in keywords):
                return name
        return NONE

    return spot


def report(
    name: str, rows: list[tuple[str, str]], predicted: list[str], labels: list[str]
) -> float:
    """Print accuracy, per-intent P/R/F1 and macro-F1; return macro-F1."""
    gold = [g for _, g in rows]
    accuracy = sum(p == g for p, g in zip(predicted, gold)) / len(rows)
    print(f"\n== {name}: accuracy {accuracy:.3f} ({len(rows)} messages)")
    print(f"{'intent':<18}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}")
    f1s = []
    for label in labels:
        tp = sum(p == g == label for p, g in zip(predicted, gold))
        n_pred, n_gold = predicted.count(label), gold.count(label)
        precision = tp / n_pred if n_pred else 1.0
        recall = tp / n_gold if n_gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        print(f"{label:<18}{precision:>7.3f}{recall:>7.3f}{f1:>7.3f}{n_gold:>5}")
    macro = sum(f1s) / len(f1s)
    print(f"{'macro-F1':<18}{macro:>21.3f}")
    return macro


def per_message_us(spot: Callable[[str], object], texts: list[str], repeat: int) -> float:
    for text in texts:  # warm-up (regex caches, branch predictors)
        spot(text)
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            spot(text)
    return (time.perf_counter() - start) / (repeat * len(texts)) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--keyword", action="append", dest="keywords")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"no data at {args.data}")
    keywords = args.keywords or ["LIVE"]
    rows = load(args.data)
    texts = [t for t, _ in rows]
    intents = discover("intents")
    labels = sorted({i.name for i in intents} | {g for _, g in rows} | {NONE})

    spotter = Spotter(intents, optin_keywords=keywords)
    spotted = [spotter.spot(t) for t in texts]
    predicted = [s.intent for s in spotted]
    report("spotter", rows, predicted, labels)
    wrong = [(t, g, s) for (t, g), s in zip(rows, spotted) if s.intent != g]
    print(f"misclassified: {len(wrong)}")
    for text, gold, s in wrong:
        print(f"  {text!r}: expected {gold}, got {s.intent} ({s.confidence:.2f})")
    us = per_message_us(spotter.spot, texts, args.repeat)
    print(f"speed: {us:.1f} µs/message (mean over {args.repeat} passes)")

    naive = baseline(intents, keywords)
    report("baseline (keyword in lowercase text)", rows, [naive(t) for t in texts], labels)
    print(f"speed: {per_message_us(naive, texts, args.repeat):.1f} µs/message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
