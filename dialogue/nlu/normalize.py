"""Normalisation of shopper messages before intent spotting.

Shoppers type "LiVe 🔴🔴", "#LIVE", "liveee", "nhắc em với ạ", "pa-notify po" and
"LIVE! @Jenny Reyes": the spotter should see "live", "nhac em", "panotify". Three
layers, each cheap (a handful of precompiled regexes):

- :func:`fold`: friend tags removed (and reported), casefold, diacritics stripped
  (Vietnamese included, đ -> d; Thai marks kept), apostrophes and in-word hyphens joined
  ("don't" -> "dont", "pa-notify" -> "panotify", "non-stop" -> "nonstop"), emoji and
  punctuation dropped except "?" (kept as a token: it tells a question from a keyword),
  letters stretched three times or more collapsed ("liveee" -> "live").
- :func:`strip_particles`: politeness particles and vocatives removed ("po", "kak",
  "shop ơi", "ạ" at the end, ...), so patterns need not allow for them.
- :func:`squeeze`: every doubled letter collapsed ("good" -> "god", "hii" -> "hi"). Keywords
  are compared squeezed on both sides, so "see", "good" and "stock" still match
  themselves while "livee" and "hii" match "live" and "hi".

:func:`normalize` chains the first two and drops the "?" tokens: the public, readable form.
"""

from __future__ import annotations

import re
import string
import unicodedata

from dialogue.nlu.lexicon import END_PARTICLES, PARTICLES, THAI_TAIL_PARTICLES

__all__ = ["fold", "normalize", "squeeze", "strip_particles"]

# "@Maria Santos", "@jenny": the @word plus up to three following Title-case words.
_TAG = re.compile(
    r"@[^\W_][\w.'’]*(?:[ \t]+[A-ZÀ-ÖØ-ÞĐ][a-zß-öø-ÿđ\u0100-\u024f\u1e00-\u1eff'’]+){0,3}"
)
_MARKS = re.compile(r"[\u0300-\u036f]")  # Latin combining diacritics only; Thai marks stay
_LETTERS = str.maketrans({"đ": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i"})
# the quote or hyphen comes first in these patterns: a literal is cheap to scan for, a
# lookbehind at every position is not
_APOSTROPHE = re.compile(r"['’`´](?<=\w['’`´])(?=\w)")
_HYPHEN = re.compile(r"[-‐‑](?<=[^\W\d_][-‐‑])(?=[^\W\d_])")
_PUNCT = re.compile(r"[^\w\s?？\u0e00-\u0e7f]+|_+")
_ASCII_PUNCT = str.maketrans({c: " " for c in string.punctuation if c != "?"})
_QUESTION = re.compile(r"[?？]+")
_STRETCH = re.compile(r"([a-z])\1{2,}")  # after folding, Latin letters are ASCII
_DOUBLE = re.compile(r"([a-z])\1+")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_THAI_TAIL = re.compile("((?:" + "|".join(THAI_TAIL_PARTICLES) + r")+)(?=\s|\?|$)")
_THAI_PART = re.compile("|".join(THAI_TAIL_PARTICLES))


# Particles are whole tokens of the folded text; set operations beat a regex pass.
_SINGLE = frozenset(p for p in PARTICLES if " " not in p)
_PAIRS = frozenset(tuple(p.split()) for p in PARTICLES if p.count(" ") == 1)
_PAIR_ENDS = frozenset(b for _, b in _PAIRS)
_AT_END = frozenset(END_PARTICLES)


def _drop_pairs(tokens: list[str]) -> list[str]:
    kept: list[str] = []
    for token in tokens:
        if kept and (kept[-1], token) in _PAIRS:
            kept.pop()
        else:
            kept.append(token)
    return kept


def _split_thai_tail(match: re.Match[str]) -> str:
    return " " + " ".join(_THAI_PART.findall(match.group(1)))


def fold(text: str) -> tuple[str, bool]:
    """Return the folded message and whether it tagged a friend ("@Name")."""
    tagged = False
    if "@" in text:
        text, tags = _TAG.subn(" ", text)
        tagged = tags > 0
    text = text.casefold()
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFD", text)).translate(_LETTERS)
        if _THAI.search(text):
            text = _THAI_TAIL.sub(_split_thai_tail, text)
        text = _PUNCT.sub(" ", _HYPHEN.sub("", _APOSTROPHE.sub("", text)))
    else:  # cheap membership tests and a translate table spare regex passes
        if "'" in text or "`" in text:
            text = _APOSTROPHE.sub("", text)
        if "-" in text:
            text = _HYPHEN.sub("", text)
        text = text.translate(_ASCII_PUNCT)
    if "?" in text or "？" in text:
        text = _QUESTION.sub(" ? ", text)
    text = _STRETCH.sub(r"\1", text)
    return " ".join(text.split()), tagged


def strip_particles(folded: str) -> str:
    """Drop politeness particles and vocatives from a :func:`fold`-ed message."""
    tokens = folded.split()
    if not _PAIR_ENDS.isdisjoint(tokens):
        tokens = _drop_pairs(tokens)
    if not _SINGLE.isdisjoint(tokens):
        tokens = [t for t in tokens if t not in _SINGLE]
    question = bool(tokens) and tokens[-1] == "?"
    if question:
        tokens.pop()
    while tokens and tokens[-1] in _AT_END:
        tokens.pop()
    if question:
        tokens.append("?")
    return " ".join(tokens)


def squeeze(text: str) -> str:
    """Collapse every run of a repeated letter: the form keywords are compared in."""
    return _DOUBLE.sub(r"\1", text)


def normalize(text: str) -> str:
    """Readable normal form of a message: folded, particles and "?" removed.

    >>> normalize("LIVE po 🔴🔴 @Maria Santos")
    'live'
    >>> normalize("Nhắc em với ạ!!")
    'nhac em'
    """
    stripped = strip_particles(fold(text)[0])
    return " ".join(t for t in stripped.split() if t != "?")
