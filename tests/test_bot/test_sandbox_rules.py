"""The sandbox's pure payload rules (no Redis, no HTTP): each limit allowed at the edge and refused past it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.errors import OUTCOMES, GraphRefusal, answer_for
from bot.sandbox.ledger import Receipt
from bot.sandbox.profile import check_profile
from bot.sandbox.receipts import receipt_items
from bot.sandbox.rules import SendPlan, plan_marketing, plan_send

PSID = "7001112223334445"


def to(recipient: dict[str, Any], message: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"recipient": recipient, **extra}
    if message is not None:
        body["message"] = message
    return body


def psid_send(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return to({"id": PSID}, message, messaging_type="RESPONSE", **extra)


def template(**payload: Any) -> dict[str, Any]:
    return {"attachment": {"type": "template", "payload": payload}}


def buttons(n: int) -> list[dict[str, Any]]:
    return [{"type": "postback", "title": f"B{i}", "payload": f"P{i}"} for i in range(n)]


def quick(n: int) -> list[dict[str, Any]]:
    return [{"content_type": "text", "title": f"Q{i}", "payload": f"P{i}"} for i in range(n)]


def element(i: int = 0) -> dict[str, Any]:
    return {"title": f"Item {i}", "subtitle": "s"}


REFUSED: list[tuple[str, Any, tuple[int, int | None]]] = [
    ("not an object", [], (100, None)),
    ("two recipient kinds", to({"id": PSID, "comment_id": "1_2"}, {"text": "x"}, messaging_type="RESPONSE"),
     (100, None)),
    ("no recipient", {"message": {"text": "x"}, "messaging_type": "RESPONSE"}, (100, None)),
    ("message and sender_action", psid_send({"text": "x"}, sender_action="typing_on"), (100, 2018014)),
    ("neither", to({"id": PSID}, messaging_type="RESPONSE"), (100, None)),
    ("user_ref", to({"user_ref": "abc"}, {"text": "x"}), (100, 2018001)),
    ("no messaging_type", to({"id": PSID}, {"text": "x"}), (100, None)),
    ("bad messaging_type", to({"id": PSID}, {"text": "x"}, messaging_type="NOW"), (100, None)),
    ("tag missing", to({"id": PSID}, {"text": "x"}, messaging_type="MESSAGE_TAG"), (100, None)),
    ("text too long", psid_send({"text": "x" * 2001}), (100, None)),
    ("text and attachment", psid_send({"text": "x", **template(template_type="button", text="t",
                                                                buttons=buttons(1))}), (100, None)),
    ("14 quick replies", psid_send({"text": "x", "quick_replies": quick(14)}), (100, None)),
    ("4 buttons", psid_send(template(template_type="button", text="t", buttons=buttons(4))), (100, None)),
    ("0 buttons", psid_send(template(template_type="button", text="t", buttons=[])), (100, None)),
    ("button text 641", psid_send(template(template_type="button", text="t" * 641, buttons=buttons(1))),
     (100, None)),
    ("11 elements", psid_send(template(template_type="generic", elements=[element(i) for i in range(11)])),
     (100, None)),
    ("opt-in title 66", psid_send(template(template_type="notification_messages", title="t" * 66)), (100, None)),
    ("otn without title", psid_send(template(template_type="one_time_notif_req", payload="p")), (100, None)),
    ("bad cta", psid_send(template(template_type="notification_messages", notification_messages_cta_text="GO")),
     (100, None)),
    ("sender action to a token", to({"notification_messages_token": "t"}, sender_action="typing_on"), (100, None)),
]

ALLOWED: list[tuple[str, Any]] = [
    ("text 2000", psid_send({"text": "x" * 2000})),
    ("13 quick replies", psid_send({"text": "x", "quick_replies": quick(13)})),
    ("3 buttons", psid_send(template(template_type="button", text="t" * 640, buttons=buttons(3)))),
    ("10 elements", psid_send(template(template_type="generic", elements=[element(i) for i in range(10)]))),
    ("opt-in title 65", psid_send(template(template_type="notification_messages", title="t" * 65))),
    ("token send without messaging_type", to({"notification_messages_token": "t"}, {"text": "x"})),
    ("private reply", to({"comment_id": "1_2"}, {"text": "x", "quick_replies": quick(1)})),
]


@pytest.mark.parametrize(("case", "body", "expected"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused(case: str, body: Any, expected: tuple[int, int | None]) -> None:
    refused = plan_send(body)
    assert isinstance(refused, GraphRefusal), case
    assert (refused.code, refused.subcode) == expected
    assert refused.message.startswith(f"(#{refused.code}) ")


@pytest.mark.parametrize(("case", "body"), ALLOWED, ids=[c[0] for c in ALLOWED])
def test_allowed(case: str, body: Any) -> None:
    assert isinstance(plan_send(body), SendPlan), case


def test_which_stored_rule_applies() -> None:
    def rule(**extra: Any) -> str:
        plan = plan_send(to({"id": PSID}, {"text": "x"}, **extra))
        assert isinstance(plan, SendPlan)
        return plan.rule

    assert rule(messaging_type="RESPONSE") == rule(messaging_type="UPDATE") == "window"
    assert rule(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT") == "human"
    assert rule(messaging_type="MESSAGE_TAG", tag="CONFIRMED_EVENT_UPDATE") == "none"
    plan = plan_send(psid_send(template(template_type="notification_messages", payload="p")))
    assert isinstance(plan, SendPlan) and plan.optin is not None
    assert (plan.optin.kind, plan.optin.title) == ("notification_messages", "Updates and promotions")


def test_marketing_payload_rules() -> None:
    def body(**overrides: Any) -> dict[str, Any]:
        base = {"message_id": "42", "messenger_delivery_data": {"subscription_token": "T"},
                "message": {"text": "We're live"}}
        return {**base, **overrides}

    assert not isinstance(plan_marketing(body(), "42"), GraphRefusal)
    assert isinstance(plan_marketing(body(message_id="41"), "42"), GraphRefusal)
    missing = plan_marketing(body(messenger_delivery_data={}), "42")
    assert isinstance(missing, GraphRefusal) and missing.code == 100
    generic = template(template_type="generic", elements=[{"title": "t", "buttons": buttons(1)}])
    refused = plan_marketing(body(message=generic), "42")
    assert isinstance(refused, GraphRefusal) and refused.subcode == 2300023


def test_every_outcome_answers_like_meta() -> None:
    for outcome, refusal in OUTCOMES.items():
        status, body = answer_for({"outcome": outcome, "fbtrace_id": "F"})
        assert status == 400, outcome
        assert body["error"]["code"] == refusal.code and body["error"]["fbtrace_id"] == "F"
    assert answer_for({"outcome": "ok", "api": "send", "recipient_id": PSID, "message_id": "m_1",
                       "fbtrace_id": "F"}) == (200, {"recipient_id": PSID, "message_id": "m_1"})


def test_profile_rules() -> None:
    assert check_profile({"get_started": {"payload": "GET_STARTED"}}, {}) is None
    menu = [{"locale": "default", "call_to_actions": [{"type": "postback", "title": "A", "payload": "A"}]}]
    refused = check_profile({"persistent_menu": menu}, {})
    assert refused is not None and "Get Started" in refused.message
    assert check_profile({"persistent_menu": menu}, {"get_started": {"payload": "G"}}) is None
    breakers = [{"question": f"Q{i}", "payload": "P"} for i in range(5)]
    assert check_profile({"ice_breakers": breakers}, {}) is not None
    assert check_profile({"home_url": "https://x"}, {}) is not None


def test_receipts_group_per_shopper_with_the_newest_watermark() -> None:
    receipts = [Receipt("a", 10, "m1"), Receipt("b", 11, "m2"), Receipt("a", 15, "m3")]
    items = receipt_items("P", receipts, 99, reads=True)
    assert [next(iter(set(i) & {"delivery", "read"})) for i in items] == ["delivery", "delivery", "read", "read"]
    assert items[0]["delivery"] == {"mids": ["m1", "m3"], "watermark": 15}
    assert items[2] == {"sender": {"id": "a"}, "recipient": {"id": "P"}, "timestamp": 99, "read": {"watermark": 15}}
    assert len(receipt_items("P", receipts, 99, reads=False)) == 2
