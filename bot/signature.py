"""X-Hub-Signature-256: HMAC-SHA256 of the raw body, keyed with the App Secret."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``header`` over the exact bytes received (never re-serialised JSON)."""
    if not header:
        return False
    return hmac.compare_digest(header_bytes(header.strip().lower()), sign(app_secret, body).encode())


def header_bytes(value: str) -> bytes:
    """A header value as the bytes received: aiohttp decodes them as UTF-8 with ``surrogateescape``, so a
    byte that is not UTF-8 arrives as a lone surrogate, which a plain ``encode()`` refuses (a 500)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoding of bytes makes: cannot match anything we expect
        return b"\xff"
