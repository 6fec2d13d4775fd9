"""Compiling intents' keywords and patterns into the few regexes the rules run.

Keywords are matched folded and squeezed on both sides (:func:`keys`), as one alternation
longest first (:func:`phrases`). Patterns are grouped by the lexicon fragments they name and
merged where they open with the same fragment (:func:`compile_patterns`), so most messages
skip most patterns and the engine matches a fragment once per position.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from dialogue.nlu.lexicon import FRAGMENTS, IN_PATTERN, alternation, split_alternatives
from dialogue.nlu.normalize import fold, squeeze

__all__ = ["FRAGMENT_RE", "compile_patterns", "keys", "one_edit", "phrases"]

_FRAGMENT = re.compile(r"(?<!\\)\{([a-z_]+)\}")
FRAGMENT_RE = {name: re.compile(fragment) for name, fragment in FRAGMENTS.items()}
_FRAGMENT_COST = {"live": 0, "restock": 1, "stock": 1, "request": 2}  # cheapest test first


def keys(words: Sequence[str]) -> list[str]:
    """Keyword phrases in the form they are matched in: folded and squeezed."""
    return sorted({k for k in (squeeze(fold(w)[0]) for w in words) if k}, key=len, reverse=True)


def phrases(words: Sequence[str]) -> str:
    """Escaped regex alternation of keyword phrases, longest first."""
    return "|".join(re.escape(k) for k in keys(words))


def compile_patterns(
    patterns: Sequence[str], intent: str
) -> list[tuple[tuple[str, ...], re.Pattern[str]]]:
    """Group an intent's patterns by the fragments they name; one regex per group.

    A pattern naming ``{live}`` can only match a message containing a live, so a group is
    tried only when every fragment it names occurs in the message: most messages then
    skip most patterns. Each top-level alternative is placed by the fragments it names, and
    alternatives opening with the same fragment share it (``{live}(?:tail|tail|...)``): the
    engine then matches the fragment once per position instead of once per pattern.
    """
    plain: dict[tuple[str, ...], list[str]] = {}
    opening: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for pattern in patterns:
        for part in split_alternatives(pattern):
            names = set(_FRAGMENT.findall(part))
            unknown = names - FRAGMENTS.keys()
            if unknown:
                raise ValueError(f"intent {intent!r}: unknown fragment(s) {unknown} in {pattern!r}")
            expand = functools.partial(_FRAGMENT.sub, lambda m: IN_PATTERN[m.group(1)])
            try:
                re.compile(expand(part))
            except re.error as exc:
                raise ValueError(f"intent {intent!r}: bad pattern {pattern!r}: {exc}") from exc
            key = tuple(sorted(names, key=lambda n: (_FRAGMENT_COST.get(n, 9), n)))
            first = _FRAGMENT.match(part)
            if first is not None:
                opening.setdefault(key, {}).setdefault(first.group(1), []).append(expand(part[first.end():]))
            else:
                plain.setdefault(key, []).append(expand(part))
    compiled = []
    for key in [*plain, *(k for k in opening if k not in plain)]:
        parts = list(plain.get(key, []))
        for name, tails in opening.get(key, {}).items():
            parts.append(IN_PATTERN[name] + "(?:" + "|".join(f"(?:{t})" for t in tails) + ")")
        compiled.append((key, re.compile(alternation(parts))))
    return compiled


def one_edit(a: str, b: str) -> bool:
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
