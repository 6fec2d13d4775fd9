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
    return hmac.compare_digest(header.strip().lower().encode(), sign(app_secret, body).encode())
