"""Each policy rule, allowed and refused (pure: no Redis, no HTTP)."""

from __future__ import annotations

import pytest

from bot.consent import ShopperConsent, Subscription
from bot.policy import HOUR_MS, TOKEN_GAP_MS, WEEK_MS, Facts, Reason, decide, region_blocked
from bot.settings import Settings

NOW = 1_800_000_000_000
S = Settings()


def sub(status: str = "active", tz: str = "Asia/Manila") -> Subscription:
    return Subscription("1", "daily", status, "NMT-1", "marketing_api", tz, NOW - WEEK_MS)  # type: ignore[arg-type]


def consent(subscription: Subscription | None = None, otn: int = 0, opted_out: bool = False,
            unreachable: bool = False) -> ShopperConsent:
    return ShopperConsent(subscription, otn, opted_out, unreachable)


def facts(window_age_h: float | None = None, **kw) -> Facts:  # type: ignore[no-untyped-def]
    last = NOW - int(window_age_h * HOUR_MS) if window_age_h is not None else 0
    return Facts(now_ms=NOW, last_action_ms=last, **kw)


@pytest.mark.parametrize("age,allowed", [(0.1, True), (23.9, True), (24.0, False), (None, False)])
def test_response_needs_the_window(age: float | None, allowed: bool) -> None:
    plan = decide("response", facts(age), S)
    assert (plan.skip is None) is allowed
    if allowed:
        assert plan.routes[0].messaging_type == "RESPONSE"
    else:
        assert plan.skip == Reason.OUTSIDE_WINDOW


def test_optin_request_once_a_week_per_title() -> None:
    assert decide("optin_request", facts(1, optin_asked_ms=NOW - 6 * 24 * HOUR_MS), S).skip == Reason.FREQUENCY
    assert decide("optin_request", facts(1, optin_asked_ms=NOW - WEEK_MS), S).skip is None
    assert decide("optin_request", facts(30), S).skip == Reason.OUTSIDE_WINDOW


def test_optin_request_respects_a_local_opt_out_unless_asked() -> None:
    f = facts(1, consent=consent(opted_out=True))
    assert decide("optin_request", f, S).skip == Reason.OPTED_OUT
    assert decide("optin_request", f, S, explicit=True).skip is None


def test_otn_request_feature_switch() -> None:
    assert decide("otn_request", facts(1), S).skip is None
    assert decide("otn_request", facts(1), S.replace(otn_enabled=False)).skip == Reason.FEATURE_OFF


def test_private_reply_once_and_within_seven_days() -> None:
    assert decide("private_reply", facts(comment_ms=NOW - HOUR_MS), S).routes[0].via == "comment"
    assert decide("private_reply", facts(comment_ms=NOW - HOUR_MS, already_replied=True), S).skip == \
        Reason.ALREADY_REPLIED
    assert decide("private_reply", facts(comment_ms=NOW - WEEK_MS), S).skip == Reason.TOO_OLD


def test_transactional_uses_the_window_then_a_tag_if_tags_are_on() -> None:
    assert decide("transactional", facts(2), S).routes[0].messaging_type == "UPDATE"
    tagged = decide("transactional", facts(30), S).routes[0]
    assert (tagged.messaging_type, tagged.tag) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")
    assert decide("transactional", facts(30), S.replace(message_tags_enabled=False)).skip == Reason.FEATURE_OFF


def test_transactional_outside_the_window_goes_as_a_utility_message_when_enabled() -> None:
    on = S.replace(utility_messages_enabled=True)
    approved = facts(30, template_status="APPROVED")
    assert decide("transactional", approved, on, utility=True).routes[0].via == "utility"
    assert decide("transactional", facts(2, template_status="APPROVED"), on, utility=True).routes[0].via == "psid"
    for status in ("", "PENDING", "REJECTED", "PAUSED"):
        assert decide("transactional", facts(30, template_status=status), on,
                      utility=True).skip == Reason.TEMPLATE_NOT_APPROVED
    assert decide("transactional", approved, on, utility=True, free_text=True).skip == Reason.OUTSIDE_WINDOW
    assert decide("transactional", approved, S, utility=True).routes[0].tag == "POST_PURCHASE_UPDATE"  # off: the tag
    both_off = S.replace(message_tags_enabled=False)
    assert decide("transactional", approved, both_off, utility=True).skip == Reason.FEATURE_OFF


def test_notification_route_order_window_marketing_otn() -> None:
    plan = decide("notification", facts(2, consent=consent(sub(), otn=1)), S)
    assert [r.via for r in plan.routes] == ["psid", "marketing_api", "otn"]
    assert plan.routes[1].token_gap_ms == TOKEN_GAP_MS["marketing_api"] and plan.per_day
    legacy_path = S.replace(marketing_path="legacy")
    legacy = decide("notification", facts(None, consent=consent(sub(tz="Asia/Seoul"))), legacy_path)
    assert [(r.via, r.token_gap_ms) for r in legacy.routes] == [("marketing_legacy", 48 * HOUR_MS)]
    # since 10 Feb 2026 the legacy path works only in the AU, EU, JP, KR and UK geos
    assert decide("notification", facts(None, consent=consent(sub())), legacy_path).skip == Reason.REGION
    assert [r.via for r in decide("notification", facts(None, consent=consent(otn=2)), S).routes] == ["otn"]


@pytest.mark.parametrize("c,reason", [
    (None, Reason.NO_TOKEN),
    (consent(), Reason.NO_TOKEN),
    (consent(sub("stopped"), otn=1), Reason.TOKEN_STOPPED),
    (consent(sub(), opted_out=True), Reason.OPTED_OUT),
    (consent(sub(), unreachable=True), Reason.UNREACHABLE),
    (consent(sub(tz="Europe/Berlin")), Reason.REGION),
])
def test_notification_refusals(c: ShopperConsent | None, reason: Reason) -> None:
    assert decide("notification", facts(None, consent=c), S).skip == reason


def test_stopped_shopper_gets_nothing_even_inside_the_window() -> None:
    assert decide("notification", facts(1, consent=consent(sub("stopped"))), S).skip == Reason.TOKEN_STOPPED


def test_otn_off_is_said() -> None:
    assert decide("notification", facts(None, consent=consent(otn=1)), S.replace(otn_enabled=False)).skip == \
        Reason.FEATURE_OFF


@pytest.mark.parametrize("tz,blocked", [("Europe/Paris", True), ("Europe/London", True), ("Asia/Tokyo", True),
                                        ("Australia/Sydney", True), ("Asia/Manila", False),
                                        ("Europe/Istanbul", False), ("America/Mexico_City", False), ("", False)])
def test_regions(tz: str, blocked: bool) -> None:
    assert region_blocked(tz) is blocked


def test_a_cancelled_campaign_sends_nothing() -> None:
    assert decide("notification", facts(1, consent=consent(sub()), cancelled=True), S).skip == Reason.CANCELLED
