"""Errors of our own, one root.

    SalebellError
    ├── ConfigError            a setting is missing or wrong; start-up stops
    ├── StorageUnavailable     Redis did not answer; the caller answers 503 or retries
    ├── BadEvent               a webhook item we cannot turn into an event
    ├── ApiError               an admin-API refusal, answered as JSON with its status (bot.admin)
    └── GraphError             (bot.graph.errors) the Graph API refused or failed
"""

from __future__ import annotations


class SalebellError(Exception):
    """Root of every error salebell raises on purpose."""


class ConfigError(SalebellError):
    """A setting is missing or has a wrong value."""


class StorageUnavailable(SalebellError):
    """Redis did not answer in time."""


class ApiError(SalebellError):
    """An error answered as JSON with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BadEvent(SalebellError):
    """A webhook item that cannot be turned into an event (unknown kind, missing field)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
