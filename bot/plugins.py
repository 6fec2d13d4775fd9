"""Plugins: modules named in ``SALEBELL_PLUGINS`` that extend the bot without ``bot/`` importing them.

A plugin module may expose any of:

- ``registry``: a :class:`bot.handlers.HandlerRegistry` of event handlers;
- ``api``: a :class:`bot.admin.AdminApi` of admin routes;
- ``async def setup(runtime)``: called once per process to add context or background tasks;
- CLI sub-commands, registered at import with :func:`bot.cli.command`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

from .errors import ConfigError


def import_plugins(names: Sequence[str]) -> list[ModuleType]:
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise ConfigError(f"plugin {name!r} (SALEBELL_PLUGINS) cannot be imported: {exc}") from exc
            raise
    return modules
