"""Redis replies as Python values, whatever the client's ``decode_responses``.

redis-py types every reply as ``bytes | str`` (and streams and scans as unions of shapes); the
bot's clients return bytes. These helpers say what a reply is, once, instead of a ``_text`` per module.
"""

from __future__ import annotations

from typing import Any


def text(value: object) -> str:
    """A Redis reply as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The entries of a one-stream XREAD/XREADGROUP reply (``[[stream, entries]]``), or none."""
    return list(reply[0][1]) if reply else []
