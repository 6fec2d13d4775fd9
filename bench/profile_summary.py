"""Where a salebell process spent its samples: py-spy's collapsed stacks summarised.

    .venv/bin/python bench/profile_summary.py DIR_OR_FILE [--top 25] [--idle] [--under NAME]

Reads what ``bench/e2e.py --profile DIR`` wrote (one ``<pid>-<role>.txt`` per process, py-spy's ``raw``
format: ``frame;frame;…;leaf count`` per line) and prints, per file, the share of samples in which each
function is on the stack (inclusive) and at the top of it (self). Idle samples (the event loop waiting in
``select``/``epoll``) are counted apart and left out of the shares unless ``--idle``. ``--under NAME``
prints instead what the functions whose name contains NAME spent their samples in: each direct callee's
share of their samples, and their own.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")
IDLE = ("select", "poll", "_poll")  # the event loop's wait for I/O (selectors.py), uvloop's run loop


def frame_name(frame: str) -> str:
    """``name (path/to/file.py:12)`` as ``name (file.py)``, the path cut to its package and module."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    parts = Path(m["file"]).parts
    tail = "/".join(parts[-2:]) if len(parts) > 1 else m["file"]
    return f"{m['name']} ({tail})"


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        stacks.append((frames, int(count)))
    return stacks


def idle(frames: list[str]) -> bool:
    if not frames:
        return False
    name, _, where = frames[-1].partition(" (")
    return name.rpartition(".")[2] in IDLE and "selectors.py" in where


def summarise(path: Path, top: int, with_idle: bool) -> None:
    stacks = read(path)
    total = sum(c for _, c in stacks)
    waiting = sum(c for f, c in stacks if idle(f))
    busy = [(f, c) for f, c in stacks if with_idle or not idle(f)]
    base = sum(c for _, c in busy) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in busy:
        for name in set(frames):
            inclusive[name] += count
        if frames:
            own[frames[-1]] += count
    print(f"\n== {path.name}: {total} samples, {waiting} idle ({100 * waiting / max(1, total):.0f} %); "
          f"shares of the {base} {'samples' if with_idle else 'busy samples'}")
    print(f"{'inclusive':>9} {'self':>6}  function")
    for name, count in inclusive.most_common(top):
        print(f"{100 * count / base:>8.1f}% {100 * own[name] / base:>5.1f}%  {name}")
    print(f"\n{'self':>9}  function (most samples at the top of the stack)")
    for name, count in own.most_common(top):
        print(f"{100 * count / base:>8.1f}%  {name}")


def callees(path: Path, under: str, top: int) -> None:
    """The direct callees of the frames matching ``under`` (the outermost match of each stack), by samples."""
    below: Counter[str] = Counter()
    matched = 0
    for frames, count in read(path):
        at = next((i for i, f in enumerate(frames) if under in f), None)
        if at is None:
            continue
        matched += count
        below[frames[at + 1] if at + 1 < len(frames) else "(self)"] += count
    print(f"\n== {path.name}: {matched} samples under {under!r}")
    for name, count in below.most_common(top):
        print(f"{100 * count / max(1, matched):>8.1f}%  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, help="a folder of bench/e2e.py --profile output, or one file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--idle", action="store_true", help="count the idle samples in the shares")
    parser.add_argument("--under", metavar="NAME", help="the direct callees of the functions named like NAME")
    args = parser.parse_args()
    files = sorted(args.path.glob("*.txt")) if args.path.is_dir() else [args.path]
    if not files:
        print(f"no profiles in {args.path}", file=sys.stderr)
        return 1
    try:
        for path in files:
            if args.under:
                callees(path, args.under, args.top)
            else:
                summarise(path, args.top, args.idle)
    except BrokenPipeError:  # piped into head
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
