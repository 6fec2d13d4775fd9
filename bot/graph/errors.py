"""Graph API errors: the exception tree, one class per way a call can fail.

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

Which answer becomes which class is the table of :mod:`bot.graph.error_codes`
(``error_from_response``): the codes beside each class above are its rows.

``retryable`` says whether the same call may succeed if made again (now or when the caller
reschedules it); ``retry.graph_retrying`` retries only the subset worth retrying inline.
``reason`` is a short snake_case label for metrics and send records.
"""

from __future__ import annotations

import re
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
