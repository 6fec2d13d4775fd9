"""Train the spotter's linear model and choose its thresholds: ``python -m dialogue.nlu.train``.

Pure Python, no numeric library: multinomial logistic regression over the features of
:mod:`dialogue.nlu.features` (counts, scaled by one over the square root of their number, as
at inference), fitted with AdaGrad and an L2
penalty, a fixed seed and a fixed number of passes, so the same data gives the same
weights. 1,600 rows take about 15 s on one core.

The model is fitted on ``train.tsv`` (plus any ``--extra`` files: a shop's own
examples); the thresholds of :class:`dialogue.nlu.combine.Thresholds` are then chosen on
``dev.tsv`` for the whole spotter, rules and model together (:func:`dialogue.nlu.combine.choose`).
``test.tsv`` is never read here. The weights go to ``dialogue/nlu/data/weights.json`` unless
``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from dialogue.nlu.corpus import DATA_DIR, LABELS, Example, checksum, load
from dialogue.nlu.features import extract
from dialogue.nlu.model import DEFAULT_WEIGHTS, LinearModel
from dialogue.nlu.normalize import fold

__all__ = ["EPOCHS", "L2", "RATE", "SEED", "fit", "main"]

EPOCHS = 15
RATE = 0.5
L2 = 2e-4
SEED = 1


def featurise(text: str) -> list[str]:
    folded, tagged = fold(text)
    return extract(folded, tagged)


def fit(rows: Sequence[Example], labels: Sequence[str] = LABELS, *, epochs: int = EPOCHS,
        rate: float = RATE, l2: float = L2, seed: int = SEED) -> LinearModel:
    """Fit the weights on ``rows`` (their intents must be among ``labels``)."""
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    unknown = {r.intent for r in rows} - index.keys()
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among {list(labels)}")
    vocab: dict[str, int] = {}
    data: list[tuple[list[int], int, float]] = []
    for row in rows:
        features = [vocab.setdefault(f, len(vocab)) for f in featurise(row.text)]
        data.append((features, index[row.intent], 1.0 / math.sqrt(len(features)) if features else 0.0))
    weights = [[0.0] * k for _ in vocab]
    squares = [[1e-8] * k for _ in vocab]
    bias, bias_squares = [0.0] * k, [1e-8] * k
    order = list(range(len(data)))
    rng = random.Random(seed)
    classes = range(k)
    for _ in range(epochs):
        rng.shuffle(order)
        for n in order:
            features, gold, scale = data[n]
            scores = bias[:]
            for f in features:
                w = weights[f]
                for c in classes:
                    scores[c] += w[c] * scale
            peak = max(scores)
            exps = [math.exp(s - peak) for s in scores]
            total = sum(exps)
            error = [e / total for e in exps]
            error[gold] -= 1.0
            for c in classes:
                bias_squares[c] += error[c] * error[c]
                bias[c] -= rate * error[c] / math.sqrt(bias_squares[c])
            for f in features:
                w, g = weights[f], squares[f]
                for c in classes:
                    step = error[c] * scale + l2 * w[c]
                    g[c] += step * step
                    w[c] -= rate * step / math.sqrt(g[c])
    return LinearModel.quantised(labels, {f: weights[i] for f, i in vocab.items()}, bias,
                                 trained={"rows": len(rows), "epochs": epochs, "rate": rate, "l2": l2, "seed": seed})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogue.nlu.train", description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DATA_DIR / "train.tsv")
    parser.add_argument("--dev", type=Path, default=DATA_DIR / "dev.tsv")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="more labelled examples (same TSV format), e.g. a shop's own; repeatable")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--keyword", action="append", dest="keywords",
                        help="the shop's opt-in keyword(s) for choosing thresholds (default LIVE)")
    args = parser.parse_args(argv)
    from dialogue.intent import discover  # noqa: PLC0415 - the rules need the intents; fitting does not
    from dialogue.nlu.combine import choose  # noqa: PLC0415
    from dialogue.nlu.spotter import Spotter  # noqa: PLC0415

    keywords = args.keywords or ["LIVE"]
    rows = load(args.train)
    for extra in args.extra:
        rows += load(extra)
    model = fit(rows)
    spotter = Spotter(discover("intents"), keywords, model=model)
    thresholds, report = choose(spotter.judge, load(args.dev))
    files = {"train": args.train, "dev": args.dev, **{f"extra{n}": p for n, p in enumerate(args.extra, 1)}}
    trained = {**model.trained, "optin_keywords": keywords,
               "files": {name: {"name": p.name, "sha256": checksum(p)} for name, p in files.items()}}
    model.with_thresholds(thresholds.as_dict(), trained).save(args.out)
    print(f"trained on {len(rows)} rows: {len(model.weights)} features; "
          f"{args.out} is {args.out.stat().st_size / 1024:.0f} kB", file=sys.stderr)
    print(report, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
