"""Graph API usage headers (§6.2): ``X-App-Usage`` and ``X-Business-Use-Case-Usage``, parsed.

Read on every answer: a throttle's ``retry_after`` (``bot.graph.error_codes``), the Page's slowing
down before Meta throttles it (``bot.throttle``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    raw = header(headers, name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name, however the answer spelled it."""
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
