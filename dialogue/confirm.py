"""Asking before stopping: the shopper's answer to "Stop live reminders?".

An opt-out the spotter finds likely but not certain (``Spotted.confirm``) runs the
``confirm_opt_out`` intent's action instead of stopping anything: the question with two
quick replies. "Yes" carries ``STOP_REMINDERS``, the payload of the menu's "Stop
reminders", so it opts out exactly like a certain stop; "No" carries ``KEEP_REMINDERS``
and leaves the subscription alone. The action records when it asked (slot
:data:`ASKED_SLOT`); a typed answer within :data:`ANSWER_WINDOW_MS` counts like a tap
("yes", "oo po", "có", "sí", "sim", "iya", "ใช่" / "no", "hindi", "không", "não", "ไม่").
"""

from __future__ import annotations

from typing import Any

from .kit import KEEP_REMINDERS
from .nlu.normalize import fold, strip_particles

__all__ = ["ANSWER_WINDOW_MS", "ASKED_SLOT", "CONFIRM", "answer_to_question", "asked_recently", "typed_answer"]

CONFIRM = "confirm_opt_out"  # the intent that asks (intents/confirm_opt_out.py)
ASKED_SLOT = "stop_asked_ms"
_ANSWERABLE = ("none", "greeting", CONFIRM)  # what a typed "yes" or "no" may be spotted as
ANSWER_WINDOW_MS = 15 * 60_000

# folded, particles gone: "có ạ" -> "co", "oo po" -> "oo", "ใช่ค่ะ" -> "ใช่", "não" -> "nao"
_YES = frozenset({
    "yes", "y", "yep", "yup", "yeah", "sure", "ok", "okay", "yes please", "yes stop", "stop",
    "oo", "opo", "sige", "co", "vang", "da", "u", "dung roi", "si", "claro", "si por favor",
    "sim", "pode", "sim por favor", "iya", "betul", "boleh", "ใช่", "ได้",
})
_NO = frozenset({
    "no", "n", "nope", "nah", "no thanks", "no thank you", "no need", "keep", "keep them", "keep it",
    "hindi", "huwag", "wag", "khong", "ko", "k", "no gracias", "nao", "nao obrigada", "nao obrigado",
    "tidak", "gak", "ga", "nggak", "tak", "tidak usah", "gak usah", "ไม่", "ไม่ใช่",
})


def typed_answer(text: str) -> bool | None:
    """True for a typed yes, False for a typed no, None for anything else."""
    words = " ".join(strip_particles(fold(text)[0]).replace("?", " ").split())
    if words in _YES:
        return True
    if words in _NO:
        return False
    return None


def asked_recently(slots: dict[str, Any], now_ms: int) -> bool:
    """The bot asked "Stop live reminders?" within the answer window."""
    asked = slots.get(ASKED_SLOT)
    return isinstance(asked, (int, float)) and 0 <= now_ms - asked < ANSWER_WINDOW_MS


def answer_to_question(intent: str, text: str | None, metadata: dict[str, Any], slots: dict[str, Any],
                       now_ms: int) -> tuple[str, dict[str, Any]] | None:
    """A typed message right after the question, read as its answer: ``opt_out`` for yes,
    this intent with the "No" payload for no; None when it is not an answer."""
    if metadata.get("source") != "message" or intent not in _ANSWERABLE or not asked_recently(slots, now_ms):
        return None
    answer = typed_answer(text or "")
    if answer is True:
        return "opt_out", {**metadata, "typed_answer": "yes"}
    if answer is False:
        return CONFIRM, {**metadata, "typed_answer": "no", "payload": KEEP_REMINDERS}
    return None
