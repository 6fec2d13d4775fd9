"""Plugins: what extends the bot without ``bot/`` importing it, each described by a :class:`Plugin`.

A plugin is a module with a ``plugin`` attribute, a :class:`Plugin` saying what it gives — event
handlers, admin routes, dashboard panels, a ``setup(runtime)``, the Messenger profile it needs,
services for other plugins (:mod:`bot.services`) — and which services it needs. Its CLI
sub-commands register themselves when it is imported (:func:`bot.cli.command`).

Which plugins run: ``SALEBELL_PLUGINS`` (names of installed plugins or module paths, comma
separated; ``none`` for none); unset, every plugin installed under the packaging entry point
group ``salebell.plugins`` — salebell's own are declared in ``pyproject.toml``, a shop's package
adds its own the same way::

    [project.entry-points."salebell.plugins"]
    claims = "shop_claims:plugin"

Start-up checks the set (:func:`check_services`): a service a plugin needs that none provides
stops start-up with a message naming both.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .services import Service, Services

if TYPE_CHECKING:
    from .admin import AdminApi
    from .dashboard import Panels
    from .handlers import HandlerRegistry
    from .runtime import Runtime
    from .settings import Settings

ENTRY_POINT_GROUP = "salebell.plugins"

__all__ = ["ENTRY_POINT_GROUP", "Plugin", "check_provided", "check_services", "installed_plugin_names",
           "resolve_plugins"]


def _needs_nothing(settings: Settings) -> tuple[Service[Any], ...]:
    return ()


@dataclass(frozen=True)
class Plugin:
    """What a plugin gives the bot and what it needs from the other plugins."""

    name: str
    registry: HandlerRegistry | None = None  # event handlers
    api: AdminApi | None = None  # admin routes
    panels: Panels | None = None  # dashboard panels
    setup: Callable[[Runtime], Awaitable[None] | None] | None = None  # once per process
    messenger_profile: Callable[[Settings], dict[str, Any] | None] | None = None  # what `profile sync` sets
    provides: tuple[Service[Any], ...] = ()  # registered by its setup
    needs: Callable[[Settings], tuple[Service[Any], ...]] = _needs_nothing  # with these settings

    def __repr__(self) -> str:
        return f"Plugin({self.name!r})"


def installed_plugin_names() -> tuple[str, ...]:
    """The plugins installed under :data:`ENTRY_POINT_GROUP`, by name."""
    return tuple(sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}))


def resolve_plugins(names: Sequence[str]) -> list[Plugin]:
    """Each name as a :class:`Plugin`: an installed plugin's name, else a module path."""
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    plugins: list[Plugin] = []
    for name in names:
        if name in installed:
            found = installed[name].load()
        else:
            found = getattr(_import(name), "plugin", None)
        if not isinstance(found, Plugin):
            raise ConfigError(f"plugin {name!r} (SALEBELL_PLUGINS) is not a bot.plugins.Plugin: a plugin module "
                              f"needs a `plugin = Plugin(...)` attribute")
        if any(p.name == found.name for p in plugins):
            continue
        plugins.append(found)
    return plugins


def check_services(plugins: Sequence[Plugin], settings: Settings) -> None:
    """Every service a plugin needs is provided by one of them; else ConfigError naming it."""
    provided = {service for p in plugins for service in p.provides}
    for plugin in plugins:
        for service in plugin.needs(settings):
            if service not in provided:
                raise ConfigError(f"plugin {plugin.name} needs {service.name}, which no plugin provides "
                                  f"(plugins: {', '.join(p.name for p in plugins) or 'none'})")


def check_provided(plugins: Sequence[Plugin], services: Services) -> None:
    """After the setups: each plugin registered what it declared it provides."""
    for plugin in plugins:
        for service in plugin.provides:
            if services.provider_of(service) != plugin.name:
                raise ConfigError(f"plugin {plugin.name} declares it provides {service.name}, "
                                  f"but its setup did not register it")


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise ConfigError(f"plugin {name!r} (SALEBELL_PLUGINS) is neither installed nor importable: "
                              f"{exc}") from exc
        raise
