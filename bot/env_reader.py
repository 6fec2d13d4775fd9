"""Reading settings from the environment: text, numbers, flags and per-Page variables, each refused with
its name when wrong (:class:`~bot.errors.ConfigError`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from .errors import ConfigError

T = TypeVar("T")

class EnvReader:
    """The environment, read one variable at a time."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def per_page(self, name: str, page_id: str) -> str:
        """``<name>_<page id>``, else ``<name>`` (shared by every Page)."""
        return self.text(f"{name}_{page_id}") or self.text(name)

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise ConfigError(f"{name} is required when FB_PAGE_ACCESS_TOKEN is set (production mode)")
        return value

    def integer(self, name: str, default: int) -> int:
        return self._parsed(name, default, int, "a whole number")

    def number(self, name: str, default: float) -> float:
        return self._parsed(name, default, float, "a number")

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], what: str) -> T:
        raw = self.text(name)
        try:
            return parse(raw) if raw else default
        except ValueError:
            raise ConfigError(f"{name} must be {what}, got {raw!r}") from None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
