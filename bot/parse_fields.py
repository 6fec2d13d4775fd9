"""Reading one field of a webhook item, leniently (messenger-platform.md §2; issue 8, finding 2).

Every reader type-checks what it reads: an optional field of the wrong type reads as absent, a
required one raises :class:`~bot.errors.BadEvent` ``missing_field``, and a number that is not a
finite, plausible value (``NaN``, ``1e400``) reads as missing. Shared by the parsers of
``messaging[]`` items (:mod:`bot.parse_messaging`) and ``changes[]`` items (:mod:`bot.parse_changes`).
"""

from __future__ import annotations

import math
from typing import Any

from .errors import BadEvent

# Beyond 2**53 a JSON number (a double for most senders) holds no exact millisecond, and no clock is there.
MAX_MS = 2**53


def as_ms(value: Any) -> int:
    """Epoch time in ms, or 0 (missing) for anything else; Meta sends ms in messaging and seconds in changes."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    ms = value * 1000 if value < 100_000_000_000 else value
    return int(ms) if 0 < ms < MAX_MS else 0


def whole(value: Any) -> int | None:
    """A finite number in the range of a timestamp or an id as an int; anything else is missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if -MAX_MS < value < MAX_MS else None


def id_of(value: Any) -> str | None:
    """An id as Meta sends it (a non-empty string, or a number), or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def object_id(item: dict[str, Any], key: str) -> str:
    """``item[key].id`` (``sender.id``, ``recipient.id``), or BadEvent ``missing_field``."""
    value = item.get(key)
    found = id_of(value.get("id")) if isinstance(value, dict) else None
    if found is None:
        raise BadEvent("missing_field", f"{key}.id")
    return found


def required_dict(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    if not isinstance(value, dict):
        raise BadEvent("missing_field", key)
    return value


def required_str(item: dict[str, Any], key: str) -> str:
    """A required id-like field: a non-empty string, or a number as a string."""
    found = id_of(item.get(key))
    if found is None:
        raise BadEvent("missing_field", key)
    return found


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
