"""JSON from outside: loaded strictly at the door, repaired before it is stored.

``POST /webhook`` accepts only RFC 8259 JSON in UTF-8 nested at most :data:`MAX_DEPTH`
levels (RFC 8259 §9 lets a parser limit the depth; Meta's bodies are about a dozen levels
deep). :func:`clean` makes one item safe to store and to read back anywhere: every string
encodes as UTF-8 (a lone surrogate, such as half of a truncated emoji, becomes U+FFFD) and
every number is finite (``NaN``, ``Infinity`` and ``1e400``, which Python reads as
infinity, become ``null``: a field with them is treated as missing).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """Bytes that are not JSON we accept; the message says why (for the log)."""


class TooDeep(ValueError):
    """A value nested deeper than :data:`MAX_DEPTH` levels."""


def load_json(raw: bytes, *, strict: bool = True) -> Any:
    """Parse ``raw``; raise :class:`NotJson` with the reason, never anything else.

    ``strict`` (the webhook) refuses ``NaN``/``Infinity`` and bodies deeper than
    :data:`MAX_DEPTH`; without it (re-reading a stored body) they load, and :func:`clean`
    deals with them item by item, so one bad item never costs the rest of its body.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"not UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant if strict else None)
    except NotJson:
        raise
    except RecursionError:
        raise NotJson(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # a syntax error, or an integer of over 4,300 digits
        raise NotJson(str(exc)[:200]) from None
    if strict and raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and nested_deeper_than(value, MAX_DEPTH):
        raise NotJson(f"nested deeper than {MAX_DEPTH} levels")
    return value


def _refuse_constant(name: str) -> NoReturn:
    raise NotJson(f"{name} is not a JSON value (RFC 8259)")


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds arrays or objects more than ``limit`` levels deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def clean(value: Any, depth: int = MAX_DEPTH) -> Any:
    """A copy of ``value`` that serialises as strict JSON in UTF-8; raise :class:`TooDeep` past ``depth`` levels."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        if depth <= 0:
            raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
        return {clean_text(str(k)): clean(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth <= 0:
            raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
        return [clean(v, depth - 1) for v in value]
    return value


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate (not encodable as UTF-8) replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def brief(value: Any, limit: int = 40) -> str:
    """A short quote of an input value for a log or error detail: a scalar cut to ``limit``, a container by type."""
    if isinstance(value, (dict, list)):
        return f"an {'object' if isinstance(value, dict) else 'array'}"
    text = repr(clean_text(value) if isinstance(value, str) else value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
