"""The claim-comment parser (live_sales/claim_words.py): many ways of writing one claim, and what is none."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from live_sales.claim_words import DEFAULT_CLAIM_WORDS, ClaimWords, ParsedClaim

WORDS = ClaimWords()

CLAIMS = [
    ("SOLD 12", "12", "", 1),
    ("sold12", "12", "", 1),
    ("Sold 12!", "12", "", 1),
    ("SOLD #12 - M", "12", "M", 1),
    ("sold #12-xl", "12", "XL", 1),
    ("mine po 12 L", "12", "L", 1),
    ("mine A01 M", "A01", "M", 1),
    ("MINE a01 m", "A01", "M", 1),
    ("12 x2", "12", "", 2),
    ("#A01 L", "A01", "L", 1),
    ("#12", "12", "", 1),
    ("sold 12 M x2 pls", "12", "M", 2),
    ("sold 12 x 3", "12", "", 3),
    ("sold 12 *4", "12", "", 4),
    ("sold 12 2pcs", "12", "", 2),
    ("sold 12 po", "12", "", 1),  # a politeness filler is no variant
    ("sold na po #12 red", "12", "RED", 1),
    ("kuha 7 x2", "7", "", 2),
    ("akin 5", "5", "", 1),
    ("chốt 12 M", "12", "M", 1),
    ("CHỐT 12", "12", "", 1),
    ("LẤY 3", "3", "", 1),
    ("ambil B7", "B7", "", 1),
    ("เอา 12", "12", "", 1),
    ("เอา12 ค่ะ", "12", "", 1),
    ("mío 5 (x3)", "5", "", 3),
    ("mio 5", "5", "", 1),
    ("lo quiero 12", "12", "", 1),
    ("  sold   12   ", "12", "", 1),
]


@pytest.mark.parametrize(("comment", "code", "variant", "quantity"), CLAIMS)
def test_claim_forms(comment: str, code: str, variant: str, quantity: int) -> None:
    parsed = WORDS.parse(comment)
    assert parsed is not None, comment
    assert (parsed.code, parsed.variant, parsed.quantity) == (code, variant, quantity)


@pytest.mark.parametrize("comment", [
    "12",  # a bare number says nothing: no word, no #, no quantity
    "I sold 12 yesterday", "minecraft 12", "mines12", "sold", "sold out?", "how much is 12?",
    "LIVE", "sold 12 x0", "sold 12 x100", "", "sold 12 M L XL", "wow 12 x2 nice", "sold " + "1" * 300,
])
def test_not_claims(comment: str) -> None:
    assert WORDS.parse(comment) is None


def test_the_word_is_reported_and_a_shop_sets_its_own_words() -> None:
    assert WORDS.parse("Kuha 3") == ParsedClaim(code="3", variant="", quantity=1, word="kuha")
    shop = ClaimWords(["grab", "akin na"])
    assert shop.parse("GRAB 9 M") == ParsedClaim(code="9", variant="M", quantity=1, word="grab")
    spaced = shop.parse("akin na 9")
    assert spaced is not None and spaced.word == "akin na"
    assert shop.parse("sold 9") is None  # not this shop's word
    with pytest.raises(ValueError):
        ClaimWords([" "])


def test_default_words_cover_the_languages_named_in_the_issue() -> None:
    for word in ("sold", "mine", "kuha", "akin", "chốt", "lấy", "ambil", "เอา", "mío", "mio"):
        assert word in DEFAULT_CLAIM_WORDS


def test_each_page_may_have_its_own_claim_words() -> None:
    """``CLAIM_WORDS_<id>`` over ``CLAIM_WORDS`` (production Pages, each with its own token)."""
    env = {"FB_PAGES": "111,222", "FB_PAGE_ACCESS_TOKEN_111": "t1", "FB_PAGE_ACCESS_TOKEN_222": "t2",
           "FB_APP_SECRET": "s", "FB_VERIFY_TOKEN": "v", "ADMIN_TOKEN": "a", "REDIS_URL": "redis://127.0.0.1:6379/0",
           "CLAIM_WORDS": "sold, mine", "CLAIM_WORDS_222": "pabili,,"}
    settings = Settings.from_env(env)
    assert settings.for_page("111").claim_words == ("sold", "mine")
    assert settings.for_page("222").claim_words == ("pabili",)
    assert Settings.from_env({}).claim_words == ()  # the default words (DEFAULT_CLAIM_WORDS)
