"""Labelled shopper messages: reading and writing the TSV files, the one-time split, checksums.

The format is the shared one (``../shared/nlu/README.md``): UTF-8, a header
``text<TAB>intent<TAB>lang<TAB>source``, no quoting, texts kept exactly as typed (so a
line is split on tabs and its first field is never stripped).

The corpus in ``dialogue/nlu/data/`` was split once, by :func:`split` with :data:`SEED`,
into ``train.tsv``, ``dev.tsv`` and ``test.tsv``; the test split is frozen: rules,
weights and thresholds are never tuned on it, and ``bench/nlu.py`` checks its
:func:`checksum` so an edit is noticed. A shop adds its own examples in a file of the
same format and passes it to ``python -m dialogue.nlu.train --extra``.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DATA_DIR", "HEADER", "LABELS", "SEED", "Example", "checksum", "load", "save", "split",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
HEADER = "text\tintent\tlang\tsource"
LABELS = ("opt_in_reminders", "opt_out", "back_in_stock", "next_live", "greeting", "none")
SEED = 13
SHARES = (0.70, 0.15, 0.15)  # train, dev, test


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    text: str
    intent: str
    lang: str = "mix"
    source: str = "chat"


def load(path: Path) -> list[Example]:
    """The rows of a TSV file; a malformed line is an error naming the file and line."""
    rows: list[Example] = []
    with path.open(encoding="utf-8", newline="") as f:
        header = f.readline().rstrip("\r\n")
        if header.split("\t")[:2] != ["text", "intent"]:
            raise ValueError(f"{path}: the header must start with text<TAB>intent, got {header!r}")
        for number, line in enumerate(f, start=2):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2 or not fields[1]:
                raise ValueError(f"{path}:{number}: expected text<TAB>intent[<TAB>lang<TAB>source]")
            rows.append(Example(fields[0], fields[1], *(f for f in fields[2:4] if f)))
    return rows


def save(path: Path, rows: Iterable[Example]) -> None:
    """Write rows in the shared format (texts must hold no tab, newline or double quote)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        for row in rows:
            if any(c in row.text for c in '\t\r\n"'):
                raise ValueError(f"text holds a tab, newline or double quote: {row.text!r}")
            f.write(f"{row.text}\t{row.intent}\t{row.lang}\t{row.source}\n")


def split(rows: Sequence[Example], seed: int = SEED) -> tuple[list[Example], list[Example], list[Example]]:
    """Train, dev and test (about 70/15/15), stratified by intent and language.

    Each (intent, lang) group is sorted, shuffled with ``seed`` and cut by position, so
    the same rows and seed always give the same split.
    """
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for row in rows:
        groups[(row.intent, row.lang)].append(row)
    rng = random.Random(seed)
    parts: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    train_end, dev_end = SHARES[0], SHARES[0] + SHARES[1]
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda r: (r.text, r.source))
        rng.shuffle(group)
        for i, row in enumerate(group):
            position = (i + 0.5) / len(group)
            parts[0 if position < train_end else 1 if position < dev_end else 2].append(row)
    return parts


def checksum(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dialogue.nlu.corpus CORPUS.tsv OUT_DIR``: the one-time split (already done for data/)."""
    import sys  # noqa: PLC0415

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m dialogue.nlu.corpus CORPUS.tsv OUT_DIR", file=sys.stderr)
        return 2
    rows = load(Path(args[0]))
    out = Path(args[1])
    for name, part in zip(("train", "dev", "test"), split(rows)):
        save(out / f"{name}.tsv", part)
        print(f"{name}: {len(part)} rows, sha256 {checksum(out / f'{name}.tsv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
