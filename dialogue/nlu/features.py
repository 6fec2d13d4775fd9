"""Features of a message for the learned model: character and word n-grams, and the lexicon's fragments.

The model reads what the rules read: the :func:`~dialogue.nlu.normalize.fold`-ed text (casefold,
no diacritics, punctuation gone except "?", tags removed), with doubled letters squeezed
("stopp" -> "stop", "helloo" -> "helo") so chat spelling meets the spelling it was trained
on. Features, as strings (the model's vocabulary keys):

- character trigrams of the text padded with one space each side, so " st" and "op "
  mark a word's ends; Thai, written without spaces, is covered by these alone. Longer
  n-grams and bigrams added nothing in 5-fold cross-validation and cost time;
- words and word pairs, prefixed ``w `` and ``b `` so they never meet a character n-gram;
- which of the lexicon's multilingual fragments (:data:`dialogue.nlu.lexicon.FRAGMENTS`: a
  live, a request to be told, stock, a restock) the message holds, and "live" in another
  sense ("I live in Cebu"): what the rules know about eight languages, given to the model
  (macro-F1 0.886 -> 0.905 in cross-validation on the train split);
- shape marks: the number of words (bucketed), a friend tag, a question mark.

Training (:mod:`dialogue.nlu.train`) and inference (:mod:`dialogue.nlu.model`) both call
:func:`extract`, so the two can never disagree on what a feature is.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from dialogue.nlu.lexicon import FRAGMENTS
from dialogue.nlu.normalize import squeeze, strip_particles

__all__ = ["CHAR_SIZES", "extract"]

CHAR_SIZES = (3,)
_LENGTH = ("#w0", "#w1", "#w2", "#w3", "#w4", "#w5") + ("#w6-9",) * 4  # index: words, capped
_FRAGMENTS = tuple((name, f"#f {name}", re.compile(pattern)) for name, pattern in sorted(FRAGMENTS.items()))
_LIVE_WORD = re.compile(r"\b(?:lives?|vivo)\b|ไลฟ")


def extract(folded: str, tagged: bool = False, norm: str | None = None,
            seen: MutableMapping[str, bool] | None = None) -> list[str]:
    """The features of a folded message (may repeat; each occurrence counts).

    ``norm`` (its :func:`~dialogue.nlu.normalize.strip_particles` form) and ``seen`` (fragment
    name -> found in ``norm``) spare the work when the rules already did it.
    """
    text = squeeze(folded)
    words = text.split()
    padded = f" {text} "
    out = [padded[i : i + 3] for i in range(len(padded) - 2)]
    out += ["w " + w for w in words]
    out += ["b " + a + " " + b for a, b in zip(words, words[1:])]
    if norm is None:
        norm = strip_particles(folded)
    if seen is None:
        seen = {}
    hits = []
    for name, label, regex in _FRAGMENTS:
        found = seen.get(name)
        if found is None:
            found = seen[name] = regex.search(norm) is not None
        if found:
            hits.append(label)
    out += hits
    if "#f live" not in hits and _LIVE_WORD.search(norm):
        out.append("#f live-other")
    if len(hits) > 1:
        out.append("+".join(hits))
    count = len(words)
    out.append(_LENGTH[count] if count < len(_LENGTH) else "#w10+" if count < 20 else "#w20+")
    if tagged:
        out.append("#tag")
    if "?" in text:
        out.append("#q")
    return out
