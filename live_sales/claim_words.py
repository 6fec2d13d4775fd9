"""Reading a claim comment ("SOLD 12", "mine A01 M", "12 x2"): a pure parser, no Redis.

A claim is a claim word, a product code, an optional variant and an optional quantity::

    SOLD 12          sold12           SOLD #12 - M       mine po 12 L
    mine A01 M       kuha 7 x2        chốt 12 M          เอา 12
    12 x2            #A01 L           mío 5 (x3)

The rule:

- text is compared case-folded and NFC-normalised; punctuation around the parts (``#``, ``-``,
  ``:``, ``,``, ``!``, ``.``) and the Filipino politeness fillers ``po``/``na``/``yung`` are skipped;
- the **claim word** comes first and may be glued to the code ("sold12"); it must not run on into
  more letters ("minecraft 12" is no claim). Without a claim word a comment is a claim only when
  it says so another way: a ``#`` before the code ("#12") or a quantity ("12 x2");
- the **code** is letters and digits with at least one digit (``12``, ``A01``, ``B7C``);
- the **variant** (size, colour) is letters only (``M``, ``XL``, ``red``), so it never reads as a
  quantity; it comes back upper-cased;
- the **quantity** is ``x2``, ``x 2``, ``*2``, ``×2``, ``qty 2`` or ``2pcs`` (1-99; default 1).

Default claim words (:data:`DEFAULT_CLAIM_WORDS`; a shop sets its own with ``CLAIM_WORDS``):
English ``sold``, ``mine``, ``claim``; Filipino ``kuha``, ``akin``, ``kunin``, ``bili``;
Vietnamese ``chốt``, ``chot``, ``lấy``, ``lay``; Indonesian/Malay ``ambil``, ``mau``, ``beli``;
Thai ``เอา``, ``รับ``, ``cf``; Spanish ``mío``, ``mio``, ``mía``, ``mia``, ``lo quiero``.

Whether a parsed claim names a product of the sale is the claims service's question
(:mod:`live_sales.claim_comments`), not the parser's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_CLAIM_WORDS: tuple[str, ...] = (
    "sold", "mine", "claim",
    "kuha", "akin", "kunin", "bili",
    "chốt", "chot", "lấy", "lay",
    "ambil", "mau", "beli",
    "เอา", "รับ", "cf",
    "mío", "mio", "mía", "mia", "lo quiero",
)
MAX_QUANTITY = 99
MAX_COMMENT = 200  # a longer comment is a conversation, not a claim

_FILLERS = r"(?:(?:po|na|yung|ung|ko)\s+)*"
_SEP = r"[\s:,.!~\-]*"
_POLITE = r"(?:po|na|ko|please|pls|ạ|nhé|nha|ya|kak|ครับ|ค่ะ|ka|krub)"
_QTY = (r"(?:(?:x|\*|×|qty\.?|qty:)\s*(?P<qty>\d{1,2})|(?P<pcs>\d{1,2})\s*(?:pcs?|pieces?|units?))")


@dataclass(frozen=True, slots=True)
class ParsedClaim:
    """What a claim comment asks for: ``code`` and ``variant`` upper-cased, ``variant`` '' if none given."""

    code: str
    variant: str
    quantity: int
    word: str  # the claim word used, '' if none


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


class ClaimWords:
    """A parser for one shop's claim words."""

    def __init__(self, words: Sequence[str] = DEFAULT_CLAIM_WORDS) -> None:
        cleaned = sorted({_normal(w) for w in words if w.strip()}, key=len, reverse=True)
        if not cleaned:
            raise ValueError("at least one claim word is needed")
        self.words = tuple(cleaned)
        alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in cleaned)
        self._pattern = re.compile(
            r"^\s*(?:(?P<word>" + alternatives + r")(?![^\W\d_]))?" + _SEP + _FILLERS
            + r"(?P<hash>#)?\s*(?P<code>[^\W_]*\d[^\W_]*)"
            + r"(?:[\s:,/\-]*(?P<variant>(?!(?:x|qty)\s*\d)(?!" + _POLITE + r"(?![^\W_]))[^\W\d_]{1,10})(?![^\W_]))?"
            + r"(?:[\s,(]*" + _QTY + r"\)?)?"
            + r"(?:\s+" + _POLITE + r")*"
            + r"[\s.!~]*$")

    def parse(self, message: str | None) -> ParsedClaim | None:
        """The claim a comment makes, or None if it makes none (see the module docstring)."""
        if not message or len(message) > MAX_COMMENT:
            return None
        found = self._pattern.match(_normal(message))
        if found is None:
            return None
        word, qty = found.group("word") or "", found.group("qty") or found.group("pcs")
        if not word and not found.group("hash") and not qty:
            return None
        code = found.group("code").upper()
        variant = (found.group("variant") or "").upper()
        quantity = int(qty) if qty else 1
        if not 1 <= quantity <= MAX_QUANTITY:
            return None
        return ParsedClaim(code=code, variant=variant, quantity=quantity, word=word)
