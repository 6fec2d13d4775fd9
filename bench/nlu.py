"""Accuracy and speed of the intent spotter, rules alone and with the model, against a naive baseline.

    .venv/bin/python bench/nlu.py [--data PATH ...] [--repeat N] [--keyword LIVE ...] [--no-misses]

By default it reads, in this order: the frozen test split (``dialogue/nlu/data/test.tsv``, never
tuned on; its SHA-256 is checked against :data:`TEST_SHA256`), the dev split the thresholds
were chosen on, and ``../shared/nlu/dev.tsv`` beside the checkout (the rules were tuned on
it). For each it prints accuracy, macro-F1, per-intent precision and recall, opt-out
recall (an opt-out the bot asks about counts as caught: the shopper is one tap from
stopping; "at once" counts only silent stops), opt-in precision and the misses, for the
spotter, the rules alone and the baseline: an intent if any of its keywords occurs in the
lowercased text, tried in priority order. Speed is process CPU time per message, the best
of ``--repeat`` passes over every message (the machine is shared: the best pass is the
least disturbed one).
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

from dialogue.intent import Intent, discover  # noqa: E402
from dialogue.nlu import Spotter  # noqa: E402
from dialogue.nlu.combine import Decision, Score, score  # noqa: E402
from dialogue.nlu.corpus import DATA_DIR, LABELS, Example, checksum, load  # noqa: E402

TEST = DATA_DIR / "test.tsv"
TEST_SHA256 = "907e474c9adf0a050da96e4310ae2ffad4ef361e1c86deb09ffd5441fb37bde5"  # frozen at the split
SHARED_DEV = next((p / "shared" / "nlu" / "dev.tsv" for p in (ROOT.parent, ROOT.parent.parent)
                   if (p / "shared" / "nlu" / "dev.tsv").exists()), ROOT.parent / "shared" / "nlu" / "dev.tsv")
DEFAULT_DATA = (TEST, DATA_DIR / "dev.tsv", SHARED_DEV)
TARGETS = "targets on the frozen test split: opt_out recall 1.00, opt_in precision >= 0.98, macro-F1 >= 0.95"
NONE = "none"


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


def report(name: str, rows: list[Example], decisions: list[Decision], misses: bool) -> Score:
    """Print the figures (and the misses) of one spotter on one file."""
    s = score([r.intent for r in rows], decisions, LABELS)
    asked = sum(d.confirm for d in decisions)
    print(f"\n-- {name}: accuracy {s.accuracy:.3f}, macro-F1 {s.macro_f1:.3f}, "
          f"opt_out recall {s.recall('opt_out'):.2f} (at once {s.opt_out_recall_at_once:.2f}, "
          f"{asked} asked), opt_in precision {s.precision('opt_in_reminders'):.3f}")
    print(f"   {'intent':<18}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}")
    for label, (p, r, f1, n) in s.per_label.items():
        print(f"   {label:<18}{p:>7.3f}{r:>7.3f}{f1:>7.3f}{n:>5}")
    if misses:
        wrong = [(row, d) for row, d in zip(rows, decisions) if d.intent != row.intent]
        print(f"   misses: {len(wrong)}")
        for row, d in wrong:
            print(f"     {row.text!r} ({row.lang}): gold {row.intent}, got {d.intent}"
                  f"{' (asked)' if d.confirm else ''} {d.confidence:.2f}  [{d.reason}]")
    return s


def per_message_us(spot: Callable[[str], object], texts: list[str], repeat: int) -> float:
    """Best pass of ``repeat`` over ``texts``, in process CPU microseconds per message."""
    for text in texts:  # warm-up (regex caches)
        spot(text)
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for text in texts:
            spot(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", help="labelled TSV file(s); default: see above")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keyword", action="append", dest="keywords")
    parser.add_argument("--no-misses", action="store_true", help="do not list the misclassified messages")
    args = parser.parse_args(argv)
    paths = args.data or [p for p in DEFAULT_DATA if p.exists()]
    keywords = args.keywords or ["LIVE"]
    intents = discover("intents")
    spotter = Spotter(intents, optin_keywords=keywords)
    rules = Spotter(intents, optin_keywords=keywords, model=None)
    naive = baseline(intents, keywords)
    if TEST in paths:
        actual = checksum(TEST)
        if actual != TEST_SHA256:
            print(f"!! {TEST} CHANGED since it was frozen (sha256 {actual}, expected {TEST_SHA256}): "
                  "its figures are not a held-out result", file=sys.stderr)
        else:
            print(f"{TEST.name}: frozen split, sha256 matches ({TEST_SHA256[:12]}...)")
    print(TARGETS)
    texts: list[str] = []
    for path in paths:
        rows = load(path)
        texts += [r.text for r in rows]
        print(f"\n== {path} ({len(rows)} messages)")
        report("spotter (rules + model)", rows, [spotter.decision(r.text) for r in rows], not args.no_misses)
        report("rules alone", rows, [rules.decision(r.text) for r in rows], False)
        report("baseline (keyword in lowercase text)", rows,
               [Decision(naive(r.text), 1.0, False, "keyword") for r in rows], False)
    print(f"\nspeed over {len(texts)} messages (process CPU time, best of {args.repeat} passes):")
    print(f"  rules alone      {per_message_us(rules.spot, texts, args.repeat):6.1f} µs/message (target < 50)")
    print(f"  rules + model    {per_message_us(spotter.spot, texts, args.repeat):6.1f} µs/message (target < 100)")
    print(f"  keyword baseline {per_message_us(naive, texts, args.repeat):6.1f} µs/message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
