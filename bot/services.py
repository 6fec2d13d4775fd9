"""Typed services: what one plugin offers another, looked up by a typed key, never a string.

A :class:`Service` names a contract (a ``Protocol`` decorated ``@runtime_checkable``) that the
runtime defines in :mod:`bot.ports`; a plugin that provides it declares so in its
:class:`bot.plugins.Plugin` and registers an implementation in its ``setup``; a plugin that needs
it declares that too. Start-up checks both (:func:`bot.plugins.check_services`): a needed service
no plugin provides stops start-up with a message naming it and who needs it, and a plugin that
declares a service but does not register it is refused the same way.

    NEXT_LIVE_SALE: Service[NextLiveSale] = Service("next live sale", NextLiveSale)
    runtime.services.provide(NEXT_LIVE_SALE, SaleFacts(...))      # the provider's setup
    sales = runtime.services.find(NEXT_LIVE_SALE)                  # typed: NextLiveSale | None
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from .errors import ConfigError

T = TypeVar("T")

__all__ = ["MissingService", "Service", "Services"]


class MissingService(ConfigError):
    """A service asked for that no loaded plugin provides."""


@dataclass(frozen=True)
class Service(Generic[T]):
    """The typed key of a service: its name (for messages) and the contract an implementation meets."""

    name: str
    contract: type  # the Protocol an implementation meets (``type[T]`` would refuse a Protocol)

    def __str__(self) -> str:
        return self.name


class Services:
    """One runtime's services, each provided once."""

    def __init__(self) -> None:
        self._by_service: dict[Service[Any], tuple[object, str]] = {}

    def provide(self, service: Service[T], implementation: T, *, by: str) -> None:
        """Register ``implementation`` of ``service`` (``by``: the providing plugin, for messages)."""
        if not isinstance(implementation, service.contract):
            raise TypeError(f"plugin {by}: {type(implementation).__name__} does not implement "
                            f"{service.contract.__name__} ({service.name})")
        known = self._by_service.get(service)
        if known is not None and known[1] != by:
            raise ConfigError(f"{service.name} is provided twice, by plugins {known[1]} and {by}")
        self._by_service[service] = (implementation, by)

    def find(self, service: Service[T]) -> T | None:
        known = self._by_service.get(service)
        return cast(T, known[0]) if known is not None else None

    def get(self, service: Service[T]) -> T:
        found = self.find(service)
        if found is None:
            raise MissingService(f"no plugin provides {service.name}")
        return found

    def provider_of(self, service: Service[Any]) -> str | None:
        known = self._by_service.get(service)
        return known[1] if known is not None else None
