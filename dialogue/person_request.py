"""A shopper asking for a person: "talk to a person", "human please", "can I speak with an agent".

A small rule beside the intent spotter (which has no such intent; its labelled corpus files these
messages under ``none``), so the NLU figures (``make bench-nlu``) do not move. The engine asks it
only when the spotter found no intent or a greeting, so "stop" or "LIVE" still mean what they say.
A question about the bot ("are you a real person?", "do you have a live chat agent?") is not a
request. What follows is :mod:`dialogue.thread_control`'s hand-over to the Page Inbox.
"""

from __future__ import annotations

import re

from .nlu.normalize import normalize

_PERSON = (r"(?:a |an |the |to a |with a |your )?(?:real |live |actual |human )?"
           r"(?:person|human|agent|representative|rep|staff|someone|somebody|operator|admin|owner|seller|people"
           r"|customer (?:service|support|care)|support team|team)")
_TALK = r"(?:talk|speak|chat|connect|get through|be connected|reply|message)"
_RULES = (
    # en: "talk to a person", "can I speak with an agent please", "connect me to a human"
    rf"\b{_TALK} (?:to|with) {_PERSON}\b",
    rf"\b(?:connect|transfer|put) me (?:to|through to|with) {_PERSON}\b",
    rf"\b(?:i want|i need|i'd like|id like|give me|get me|let me talk to|can i get|can i have) {_PERSON}\b",
    r"^(?:a |an )?(?:real )?(?:human|person|agent|representative|operator)(?: please| pls| plz| po)?[ !.]*$",
    r"\b(?:human|real person|live agent|agent) (?:please|pls|plz)\b",
    r"\b(?:is there|is anyone|anyone|someone|any (?:human|person|agent))\b.{0,24}"
    r"\b(?:i can|to|who can) (?:talk|speak|chat)\b",
    r"\bnot (?:a |the )?(?:bot|robot)\b.{0,30}\b(?:person|human|agent)\b",
    # tl: "pwede po makausap ang tao", "gusto ko kausap tao/admin"
    r"\b(?:makausap|kausap|kausapin|maka ?chat)\b.{0,20}\b(?:tao|admin|seller|agent|staff|may ari)\b",
    # es/pt: "hablar con una persona", "falar com um atendente"
    r"\b(?:hablar|falar|conversar)\b.{0,12}\b(?:con|com)\b.{0,12}\b(?:persona|humano|agente|asesor|atendente"
    r"|pessoa|alguien|alguem)\b",
    # id/ms: "mau bicara dengan admin/orang", "nak cakap dengan orang"
    r"\b(?:bicara|ngobrol|cakap|chat|hubungi)\b.{0,12}\b(?:dengan|sama|dgn)\b.{0,12}\b(?:admin|orang|manusia"
    r"|cs|agen)\b",
    # vi: "cho mình gặp nhân viên", "nói chuyện với người thật"
    r"\b(?:gap|noi chuyen voi|ket noi voi|lien he)\b.{0,12}\b(?:nhan vien|nguoi that|tu van vien|admin)\b",
)
_QUESTION_ABOUT_US = re.compile(r"\b(?:are you|r u|is this|am i talking to|do you have|is there a live chat)\b"
                                r".{0,20}\b(?:real|bot|robot|human|person|agent)\b(?!.{0,20}\b(?:talk|speak)\b)")
_PATTERN = re.compile("|".join(f"(?:{r})" for r in _RULES))


def asks_for_person(text: str | None) -> bool:
    """True when the message asks to talk to a person of the shop."""
    if not text:
        return False
    normal = normalize(text)
    if _QUESTION_ABOUT_US.search(normal):
        return False
    return bool(_PATTERN.search(normal))
