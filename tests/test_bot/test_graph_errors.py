"""error_from_response: one case per row of §5 and §6.3 of messenger-platform.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

import bot.graph as graph
from bot.errors import SalebellError
from bot.graph.error_codes import error_from_response
from bot.graph.errors import (
    AccessTokenInvalid,
    BadRequest,
    CampaignNotReady,
    FrequencyLimited,
    GapControl,
    GraphError,
    GraphNetworkError,
    GraphPermissionError,
    GraphThrottled,
    GraphTransient,
    OptInLimited,
    OutsideWindow,
    PageRestricted,
    RecipientUnavailable,
    RetryLater,
    SendUncertain,
    ThreadControlled,
    TokenInvalid,
    TokenStopped,
)
from bot.graph.usage import parse_usage


def body(code: int | None, subcode: int | None = None, message: str = "boom", **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "fbtrace_id": "Ftrace1"}
    if code is not None:
        error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


# (code, subcode, class, reason, retryable): §5 row by row, then §6.3, then §3.9's new API.
ROWS = [
    (1, 99, GraphTransient, "transient", True),
    (1, None, GraphTransient, "transient", True),
    (1, 1357046, SendUncertain, "uncertain", False),
    (2, None, GraphTransient, "transient", True),
    (2, 2018344, GraphPermissionError, "permission", False),
    (4, None, GraphThrottled, "throttled", True),
    (4, 2018354, FrequencyLimited, "frequency", False),
    (9, 2018352, OptInLimited, "optin_limited", False),
    (10, None, GraphPermissionError, "permission", False),
    (10, 2018278, OutsideWindow, "outside_window", False),
    (10, 2534022, OutsideWindow, "outside_window", False),
    (10, 2018065, OutsideWindow, "outside_window", False),
    (10, 2018108, RecipientUnavailable, "unreachable", False),
    (10, 1893015, TokenStopped, "token_stopped", False),
    (10, 1893063, PageRestricted, "page_restricted", False),
    (10, 1404170, OptInLimited, "optin_limited", False),
    (10, 2018336, GraphPermissionError, "permission", False),  # informational; code-10 fallback
    (100, None, BadRequest, "bad_request", False),
    (100, 33, BadRequest, "bad_request", False),
    (100, 2018001, RecipientUnavailable, "unreachable", False),
    (100, 2018008, BadRequest, "bad_request", False),
    (100, 2018047, BadRequest, "bad_request", False),
    (100, 2018109, BadRequest, "bad_request", False),
    (100, 2018294, BadRequest, "bad_request", False),
    (100, 2018014, BadRequest, "bad_request", False),
    (190, None, AccessTokenInvalid, "access_token_invalid", False),
    (190, 463, AccessTokenInvalid, "access_token_invalid", False),
    (200, None, GraphPermissionError, "permission", False),
    (200, 2018028, GraphPermissionError, "permission", False),
    (200, 2018027, GraphPermissionError, "permission", False),
    (200, 2018021, GraphPermissionError, "permission", False),
    (200, 1545041, RecipientUnavailable, "unreachable", False),
    (551, None, RecipientUnavailable, "unreachable", False),
    (551, 1545041, RecipientUnavailable, "unreachable", False),
    (230, None, GraphPermissionError, "permission", False),
    (613, 1893016, OptInLimited, "optin_limited", False),
    (613, 2018338, FrequencyLimited, "frequency", False),
    (613, 2534040, GraphThrottled, "throttled", True),
    (613, None, GraphThrottled, "throttled", True),
    (2022, None, PageRestricted, "page_restricted", False),
    (10, 2018300, ThreadControlled, "thread_controlled", False),
    (2018300, None, ThreadControlled, "thread_controlled", False),
    (2018321, None, RetryLater, "retry_later", True),
    (17, None, GraphThrottled, "throttled", True),
    (32, None, GraphThrottled, "throttled", True),
    (80001, None, GraphThrottled, "throttled", True),
    (80006, None, GraphThrottled, "throttled", True),
    # §6.3
    (613, 1996, GraphThrottled, "throttled", True),
    (80002, None, GraphThrottled, "throttled", True),
    # §3.9 / last row of §5: the new API nests its number under code 100 (and may send it as the code)
    (100, 2300004, TokenInvalid, "token_invalid", False),
    (100, 2300005, BadRequest, "bad_request", False),
    (100, 2300034, TokenStopped, "token_stopped", False),
    (100, 2300035, FrequencyLimited, "frequency", False),
    (100, 2300037, TokenInvalid, "token_invalid", False),
    (100, 2300012, CampaignNotReady, "campaign_not_ready", True),
    (100, 2300041, CampaignNotReady, "campaign_not_ready", True),
    (100, 2300028, CampaignNotReady, "campaign_not_ready", True),
    (100, 2300042, FrequencyLimited, "frequency", False),
    (100, 2300043, FrequencyLimited, "frequency", False),
    (100, 2300044, FrequencyLimited, "frequency", False),
    (100, 2300052, GapControl, "gap_control", False),
    (100, 2300078, GraphThrottled, "throttled", True),
    (100, 2300079, GraphThrottled, "throttled", True),
    (100, 2300080, GraphThrottled, "throttled", True),
    (2300035, None, FrequencyLimited, "frequency", False),
    (2300034, None, TokenStopped, "token_stopped", False),
    (12345, None, GraphError, "graph_error", False),
]


@pytest.mark.parametrize(("code", "subcode", "cls", "reason", "retryable"), ROWS)
def test_row_maps_to_exactly_one_class(
    code: int, subcode: int | None, cls: type[GraphError], reason: str, retryable: bool
) -> None:
    err = error_from_response(400, body(code, subcode), {})
    assert type(err) is cls
    assert isinstance(err, GraphError) and isinstance(err, SalebellError)
    assert (err.reason, err.retryable) == (reason, retryable)
    assert (err.code, err.subcode, err.fbtrace_id, err.http_status) == (code, subcode, "Ftrace1", 400)


def test_token_wording_and_token_recipient_turn_generic_100_into_token_invalid() -> None:
    worded = error_from_response(400, body(100, message="(#100) Invalid notification_messages_token"), {})
    otn_twice = error_from_response(400, body(100, message="(#100) The one_time_notif_token was already used"), {})
    on_token = error_from_response(400, body(100, message="(#100) Invalid parameter"), {}, token_recipient=True)
    assert [type(e) for e in (worded, otn_twice, on_token)] == [TokenInvalid] * 3
    assert on_token.reason == "token_invalid"
    # a specific 100 subcode keeps its own meaning even on a token recipient
    assert type(error_from_response(400, body(100, 2018001), {}, token_recipient=True)) is RecipientUnavailable
    assert type(error_from_response(400, body(100, 2300005), {}, token_recipient=True)) is BadRequest
    assert type(error_from_response(400, body(100, message="(#100) Invalid parameter"), {})) is BadRequest


def usage_header(*minutes: float) -> dict[str, str]:
    rows = [{"type": "messenger", "call_count": 100, "estimated_time_to_regain_access": m} for m in minutes]
    return {"X-Business-Use-Case-Usage": json.dumps({"104455001234567": rows})}


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002, 80006])
def test_throttle_retry_after_comes_from_business_usage_header(code: int) -> None:
    err = error_from_response(400, body(code), usage_header(0, 3))
    assert isinstance(err, GraphThrottled)
    assert err.retry_after == 180.0


def test_throttle_retry_after_is_none_without_a_positive_estimate() -> None:
    assert error_from_response(400, body(80006), usage_header(0)).retry_after is None
    assert error_from_response(400, body(80006), {}).retry_after is None
    assert error_from_response(400, body(80006), {"x-business-use-case-usage": "not json"}).retry_after is None


def test_header_lookup_is_case_insensitive_and_usage_is_parsed() -> None:
    headers = {
        "x-business-use-case-usage": usage_header(1)["X-Business-Use-Case-Usage"],
        "X-APP-USAGE": '{"call_count": 28}',
    }
    assert error_from_response(400, body(613), headers).retry_after == 60.0
    usage = parse_usage(headers)
    assert usage.app == {"call_count": 28}
    assert usage.max_percent == 100.0


def test_campaign_not_ready_carries_a_retry_hint() -> None:
    assert error_from_response(400, body(100, 2300028), {}).retry_after == 3600.0
    assert (error_from_response(400, body(100, 2300041), {}).retry_after or 0) > 0


@pytest.mark.parametrize(
    ("status", "cls"), [(500, GraphTransient), (503, GraphTransient), (429, GraphThrottled), (404, GraphError)]
)
def test_without_a_graph_error_body_the_http_status_decides(status: int, cls: type[GraphError]) -> None:
    err = error_from_response(status, None, {})
    assert type(err) is cls
    assert err.code is None and err.http_status == status


def test_unknown_code_on_5xx_is_transient_but_known_code_wins() -> None:
    assert type(error_from_response(500, body(99999), {})) is GraphTransient
    assert type(error_from_response(500, body(10, 2018278), {})) is OutsideWindow


def test_tokens_are_scrubbed_from_meta_text() -> None:
    secret = "EAAGm0PX4ZCpsBAKZAbcdefghij1234567890"
    text = f"(#190) Bad token access_token={secret}&x=1; Authorization: Bearer {secret} raw {secret}"
    err = error_from_response(400, body(190, message=text), {})
    assert secret not in err.message
    assert secret not in str(err) and secret not in repr(err)
    assert "access_token=***" in err.message


def test_network_error_retryable_follows_sent_maybe() -> None:
    assert GraphNetworkError("refused", sent_maybe=False).retryable is True
    sent = GraphNetworkError("reset", sent_maybe=True)
    assert (sent.retryable, sent.reason, sent.sent_maybe) == (False, "network", True)


def test_all_is_exactly_the_public_names() -> None:
    public = {n for n in dir(graph) if not n.startswith("_")} - {
        "client", "error_codes", "errors", "payloads", "request_bodies", "retry", "transport", "usage", "utility", "PermissionError"
    }
    assert set(graph.__all__) == public
    assert graph.PermissionError is GraphPermissionError
