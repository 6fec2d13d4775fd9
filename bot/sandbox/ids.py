"""Identifiers the sandbox hands out, shaped like Meta's (numeric PSIDs, ``m_`` message ids)."""

from __future__ import annotations

import secrets
import uuid


def digits(n: int) -> str:
    """``n`` random decimal digits, never starting with 0."""
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


def new_psid() -> str:
    return digits(16)


def new_mid() -> str:
    return "m_" + secrets.token_urlsafe(24)


def new_nm_token() -> str:
    return "NMT" + secrets.token_urlsafe(30)


def new_otn_token() -> str:
    return "OTN" + secrets.token_urlsafe(30)


def new_numeric_id() -> str:
    """A Graph object id (a template's, for one)."""
    return digits(16)


def new_tracking_id() -> str:
    return str(uuid.uuid4())
