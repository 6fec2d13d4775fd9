"""Graph API errors: one tree, one mapper (``error_from_response``).

    SalebellError
    └── GraphError                 anything the Graph API refused or failed; unknown codes land here
        ├── GraphTransient         1, 1/99, 2, HTTP 5xx                                  retried
        ├── GraphNetworkError      timeout / connection error; ``sent_maybe`` says whether
        │                          the request may have reached Meta                     retried if not sent
        ├── GraphThrottled         4, 17, 32, 613, 80001, 80002, 80006, 2300078-80       retried after ``retry_after``
        ├── FrequencyLimited       4/2018354, 613/2018338, 2300035, 2300042-44           reschedule, not now
        ├── OutsideWindow          10/2018278, 10/2534022, 10/2018065
        ├── TokenStopped           10/1893015, 2300034                                   deactivate the token
        ├── TokenInvalid           100 about a token, 2300004, 2300037 (OTN used twice)  delete the token
        ├── RecipientUnavailable   10/2018108, 551, 200/1545041, 100/2018001             mark unreachable
        ├── OptInLimited           9/2018352, 613/1893016, 10/1404170                    stop opt-in requests
        ├── PageRestricted         10/1893063, 2022                                      pause sends; alert
        ├── ThreadControlled       2018300                                               use handover
        ├── GraphPermissionError   10, 200, 200/2018028/2018027/2018021, 230, 2/2018344  setup issue
        ├── AccessTokenInvalid     190                                                   refresh token; alert
        ├── BadRequest             100, 100/33, media subcodes, 100/2018014, 2300005     fix the request
        ├── CampaignNotReady       2300012, 2300041, 2300028                             retry later (hint)
        ├── GapControl             2300052                                               recent organic chat
        ├── RegionRestricted       2300030-2300032                                       close the route for them
        ├── SendUncertain          1/1357046, unreadable 2xx reply                       may be sent: no resend
        └── RetryLater             2018321                                               Messenger Q&A flow

The Marketing Message API answers ``{"error": {"code": 100, "error_subcode": 2300035}}``
(and our sandbox does too), so a subcode that means the same under any code is matched
before the code. Lookup order: exact (code, subcode) → subcode alone → code alone →
HTTP status → ``GraphError``. Usage headers (§6.2) are parsed here too, for ``retry_after``.

``retryable`` says whether the same call may succeed if made again (now or when the caller
reschedules it); ``retry.graph_retrying`` retries only the subset worth retrying inline.
``reason`` is a short snake_case label for metrics and send records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import SalebellError

_SCRUB = (
    re.compile(r"(access_token|appsecret_proof|token)=[^&\s\"',;)]+", re.IGNORECASE),
    re.compile(r"(Bearer|OAuth)\s+[A-Za-z0-9._\-~+/=]{8,}", re.IGNORECASE),
    re.compile(r"\bEAA[A-Za-z0-9]{16,}"),
)
_MAX_MESSAGE = 300


def scrub(text: str) -> str:
    """Meta's error text with anything token-like masked, cut to a sane length."""
    text = _SCRUB[0].sub(r"\1=***", text)
    text = _SCRUB[1].sub(r"\1 ***", text)
    text = _SCRUB[2].sub("***", text)
    return text[:_MAX_MESSAGE]


class GraphError(SalebellError):
    """The Graph API refused or failed a call. Unknown codes map here (never retried)."""

    reason: ClassVar[str] = "graph_error"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = scrub(message)
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.retry_after = retry_after
        self.retryable: bool = self.default_retryable
        super().__init__(self._describe())

    def _describe(self) -> str:
        number = "" if self.code is None else f"#{self.code}" + (f"/{self.subcode}" if self.subcode else "")
        parts = [p for p in (number, self.message) if p]
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        return f"{self.reason}: " + " ".join(parts) if parts else self.reason


class GraphTransient(GraphError):
    reason = "transient"
    default_retryable = True


class GraphNetworkError(GraphError):
    """No answer: ``sent_maybe`` is True when the request may have reached Meta."""

    reason = "network"

    def __init__(self, message: str = "", *, sent_maybe: bool, **kw: Any) -> None:
        self.sent_maybe = sent_maybe
        super().__init__(message, **kw)
        self.retryable = not sent_maybe


class GraphThrottled(GraphError):
    reason = "throttled"
    default_retryable = True


class FrequencyLimited(GraphError):
    reason = "frequency"


class OutsideWindow(GraphError):
    reason = "outside_window"


class TokenStopped(GraphError):
    reason = "token_stopped"


class TokenInvalid(GraphError):
    reason = "token_invalid"


class RecipientUnavailable(GraphError):
    reason = "unreachable"


class OptInLimited(GraphError):
    reason = "optin_limited"


class PageRestricted(GraphError):
    reason = "page_restricted"


class ThreadControlled(GraphError):
    reason = "thread_controlled"


class GraphPermissionError(GraphError):
    reason = "permission"


class AccessTokenInvalid(GraphError):
    reason = "access_token_invalid"


class BadRequest(GraphError):
    reason = "bad_request"


class CampaignNotReady(GraphError):
    reason = "campaign_not_ready"
    default_retryable = True


class GapControl(GraphError):
    reason = "gap_control"


class RegionRestricted(GraphError):
    """A send refused for the region (Marketing Message API 2300030-2300032, §3.9: "region"; which of
    the three means what is not documented [U]): the route is closed for that shopper from now on."""

    reason = "region"


class SendUncertain(GraphError):
    """The message may have been sent: check echoes for its metadata, never resend blindly."""

    reason = "uncertain"


class RetryLater(GraphError):
    reason = "retry_later"
    default_retryable = True


# Spelled as the brief and §5 say; not in ``__all__`` so a star import never shadows the builtin.
PermissionError = GraphPermissionError  # noqa: A001

# --- the table (§5, §6.3, §3.9) ------------------------------------------------------

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
    fbtrace = error.get("fbtrace_id") or _header(headers, "x-fb-trace-id")
    return cls(
        message or f"HTTP {http_status}",
        code=code,
        subcode=subcode,
        fbtrace_id=str(fbtrace) if fbtrace else None,
        http_status=http_status,
        retry_after=retry_after,
    )


# --- usage headers (§6.2) ---------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Parsed ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` (percentages of the allowance)."""

    app: Mapping[str, Any] | None = None
    business: Mapping[str, Any] | None = None

    @property
    def max_percent(self) -> float:
        """The highest of call_count / total_cputime / total_time over every object."""
        rows = [self.app] if self.app else []
        rows += [row for row in _business_rows(self.business)]
        values = [float(v) for row in rows for k, v in row.items() if k in _PERCENT_KEYS and _is_num(v)]
        return max(values, default=0.0)

    @property
    def regain_seconds(self) -> float | None:
        """``estimated_time_to_regain_access`` (minutes) as seconds, when any is above zero."""
        minutes = [
            float(row["estimated_time_to_regain_access"])
            for row in _business_rows(self.business)
            if _is_num(row.get("estimated_time_to_regain_access"))
        ]
        longest = max(minutes, default=0.0)
        return longest * 60.0 if longest > 0 else None


_PERCENT_KEYS = ("call_count", "total_cputime", "total_time")


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Read both usage headers; a missing or malformed header is simply absent."""
    return Usage(app=_json_header(headers, "x-app-usage"), business=_json_header(headers, "x-business-use-case-usage"))


def _business_rows(business: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    rows: list[Mapping[str, Any]] = []
    for entries in (business or {}).values():
        if isinstance(entries, list):
            rows += [e for e in entries if isinstance(e, Mapping)]
    return rows


def _json_header(headers: Mapping[str, str], name: str) -> Mapping[str, Any] | None:
    raw = _header(headers, name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, val in headers.items():
        if key.lower() == name:
            return val
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _is_num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
