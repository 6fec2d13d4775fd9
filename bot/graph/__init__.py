"""The Graph API client: errors and their codes, usage headers, retry policy, payload builders and ``GraphClient``."""

from .client import GraphClient, MarketingSendResult, SendResult
from .error_codes import error_from_response
from .errors import (
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
    PermissionError,  # noqa: A004, F401  (alias of GraphPermissionError; kept out of __all__)
    RecipientUnavailable,
    RegionRestricted,
    RetryLater,
    SendUncertain,
    ThreadControlled,
    TokenInvalid,
    TokenStopped,
)
from .payloads import PayloadError
from .retry import graph_retrying
from .transport import new_session
from .usage import Usage, parse_usage

__all__ = [
    "AccessTokenInvalid",
    "BadRequest",
    "CampaignNotReady",
    "FrequencyLimited",
    "GapControl",
    "GraphClient",
    "GraphError",
    "GraphNetworkError",
    "GraphPermissionError",
    "GraphThrottled",
    "GraphTransient",
    "MarketingSendResult",
    "OptInLimited",
    "OutsideWindow",
    "PageRestricted",
    "PayloadError",
    "RecipientUnavailable",
    "RegionRestricted",
    "RetryLater",
    "SendResult",
    "SendUncertain",
    "ThreadControlled",
    "TokenInvalid",
    "TokenStopped",
    "Usage",
    "error_from_response",
    "graph_retrying",
    "new_session",
    "parse_usage",
]
