"""Graph API error codes: the table (§5, §6.3, §3.9) and the one mapper, ``error_from_response``.

The Marketing Message API answers ``{"error": {"code": 100, "error_subcode": 2300035}}``
(and our sandbox does too), so a subcode that means the same under any code is matched
before the code. Lookup order: exact (code, subcode) → subcode alone → code alone →
HTTP status → ``GraphError``. A throttle's ``retry_after`` comes from the usage headers
(:mod:`bot.graph.usage`); the classes are those of :mod:`bot.graph.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import (
    AccessTokenInvalid,
    BadRequest,
    CampaignNotReady,
    FrequencyLimited,
    GapControl,
    GraphError,
    GraphPermissionError,
    GraphThrottled,
    GraphTransient,
    OptInLimited,
    OutsideWindow,
    PageRestricted,
    RecipientUnavailable,
    RegionRestricted,
    RetryLater,
    SendUncertain,
    ThreadControlled,
    TokenInvalid,
    TokenStopped,
)
from .usage import header, parse_usage

BY_PAIR: dict[tuple[int, int], type[GraphError]] = {
    (1, 99): GraphTransient,
    (1, 1357046): SendUncertain,
    (2, 2018344): GraphPermissionError,
    (4, 2018354): FrequencyLimited,  # before frequency allows: NOT the code-4 throttle
    (9, 2018352): OptInLimited,
    (10, 2018278): OutsideWindow,
    (10, 2534022): OutsideWindow,
    (10, 2018065): OutsideWindow,
    (10, 2018108): RecipientUnavailable,
    (10, 1893015): TokenStopped,
    (10, 1893063): PageRestricted,
    (10, 1404170): OptInLimited,
    (100, 33): BadRequest,
    (100, 2018001): RecipientUnavailable,
    (100, 2018008): BadRequest,
    (100, 2018047): BadRequest,
    (100, 2018109): BadRequest,
    (100, 2018294): BadRequest,
    (100, 2018014): BadRequest,
    (200, 2018028): GraphPermissionError,
    (200, 2018027): GraphPermissionError,
    (200, 2018021): GraphPermissionError,
    (200, 1545041): RecipientUnavailable,
    (551, 1545041): RecipientUnavailable,
    (613, 1893016): OptInLimited,
    (613, 2018338): FrequencyLimited,  # too many tagged messages to one person
    (613, 2534040): GraphThrottled,
    (613, 1996): GraphThrottled,
}

# Numbers that mean the same whether they come as the code or as the subcode.
BY_NUMBER: dict[int, type[GraphError]] = {
    2022: PageRestricted,
    2018300: ThreadControlled,
    2018321: RetryLater,
    2300004: TokenInvalid,
    2300005: BadRequest,  # token of another Page: a setup error, never delete tokens for it
    2300012: CampaignNotReady,
    2300023: BadRequest,
    2300026: BadRequest,
    2300028: CampaignNotReady,
    2300030: RegionRestricted,
    2300031: RegionRestricted,
    2300032: RegionRestricted,
    2300034: TokenStopped,
    2300035: FrequencyLimited,
    2300037: TokenInvalid,
    2300041: CampaignNotReady,
    2300042: FrequencyLimited,
    2300043: FrequencyLimited,
    2300044: FrequencyLimited,
    2300052: GapControl,
    2300078: GraphThrottled,
    2300079: GraphThrottled,
    2300080: GraphThrottled,
}

BY_CODE: dict[int, type[GraphError]] = {
    1: GraphTransient,
    2: GraphTransient,
    4: GraphThrottled,
    10: GraphPermissionError,
    17: GraphThrottled,
    32: GraphThrottled,
    100: BadRequest,
    190: AccessTokenInvalid,
    200: GraphPermissionError,
    230: GraphPermissionError,
    551: RecipientUnavailable,
    613: GraphThrottled,
    80001: GraphThrottled,
    80002: GraphThrottled,
    80006: GraphThrottled,
}

# Seconds to wait before trying a campaign that is not ready (§3.9: pacing ~1 h; populating ~2 h seen).
CAMPAIGN_RETRY_AFTER: dict[int, float] = {2300028: 3600.0, 2300012: 1800.0, 2300041: 1800.0}

_TOKEN_WORDING = re.compile(
    r"notification_messages_token|one_time_notif|subscription[_ ]token|notification messages? token|\botn\b", re.I
)


def classify(code: int | None, subcode: int | None) -> type[GraphError] | None:
    """The class for a (code, subcode) pair, or None when the table does not know it."""
    if code is not None and subcode is not None and (code, subcode) in BY_PAIR:
        return BY_PAIR[(code, subcode)]
    for number in (subcode, code):
        if number is not None and number in BY_NUMBER:
            return BY_NUMBER[number]
    return BY_CODE.get(code) if code is not None else None


def _known_subcode(code: int, subcode: int | None) -> bool:
    return subcode is not None and ((code, subcode) in BY_PAIR or subcode in BY_NUMBER)


def error_from_response(
    http_status: int,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    *,
    token_recipient: bool = False,
) -> GraphError:
    """Turn one failed Graph answer into exactly one error. ``token_recipient``: the call
    addressed a marketing/OTN token, so a generic code 100 means the token is bad."""
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    message = str(error.get("message") or "")
    cls = classify(code, subcode)
    if code == 100 and cls is BadRequest and not _known_subcode(code, subcode):
        if token_recipient or _TOKEN_WORDING.search(message):
            cls = TokenInvalid
    if cls is None:
        if http_status >= 500:
            cls = GraphTransient
        elif http_status == 429:
            cls = GraphThrottled
        else:
            cls = GraphError
    retry_after: float | None = None
    if cls is GraphThrottled:
        retry_after = parse_usage(headers).regain_seconds
    elif cls is CampaignNotReady:
        retry_after = CAMPAIGN_RETRY_AFTER.get(subcode or 0) or CAMPAIGN_RETRY_AFTER.get(code or 0)
    fbtrace = error.get("fbtrace_id") or header(headers, "x-fb-trace-id")
    return cls(
        message or f"HTTP {http_status}",
        code=code,
        subcode=subcode,
        fbtrace_id=str(fbtrace) if fbtrace else None,
        http_status=http_status,
        retry_after=retry_after,
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
