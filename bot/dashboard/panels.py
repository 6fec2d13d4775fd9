"""The dashboard's panel registry: how a plugin adds a panel without ``bot/dashboard`` naming it.

A plugin module exposes ``panels``, a :class:`Panels`, next to its ``api``. Each
:class:`Panel` names files its package ships (under ``assets``): an ES module the shell
imports and calls as ``mount(section, ctx)``, and/or an HTML fragment shown inside the
panel's section; ``render`` may produce the section's HTML on the server instead, so
the panel reads without JavaScript. The shell serves a panel's files at
``/dashboard/panels/<id>/<file>``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources

from aiohttp import web

PANEL_ID = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9]+)+$")
Render = Callable[[web.Request], Awaitable[str]]


@dataclass(frozen=True)
class Panel:
    """One panel: ``id`` (its URL fragment, ``#<id>``), its title in the navigation, and what it shows.

    ``package``/``assets``: where its files are (``importlib.resources``); ``module``: the ES
    module to load; ``fragment``: an HTML file put in its section; ``render``: server-side
    HTML for its section (escaped by the plugin); ``order``: its place in the navigation.
    """

    id: str
    title: str
    package: str
    assets: str = "static"
    module: str | None = None
    fragment: str | None = None
    render: Render | None = field(default=None, compare=False)
    order: int = 100

    def __post_init__(self) -> None:
        if not PANEL_ID.match(self.id):
            raise ValueError(f"panel id {self.id!r}: 1-32 lower-case letters, digits or '-', a letter first")
        for name in (self.module, self.fragment):
            if name is not None and not ASSET_NAME.match(name):
                raise ValueError(f"panel {self.id}: asset {name!r} must be a plain file name")
        if self.module is None and self.fragment is None and self.render is None:
            raise ValueError(f"panel {self.id} shows nothing: give a module, a fragment or a render function")

    def asset(self, name: str) -> bytes | None:
        """A file of the panel's assets folder, or None if the name is not a plain file there."""
        if not ASSET_NAME.match(name):
            return None
        path = resources.files(self.package).joinpath(self.assets, name)
        return path.read_bytes() if path.is_file() else None


@dataclass
class Panels:
    """The panels of one plugin (or of the whole dashboard, once combined)."""

    items: list[Panel] = field(default_factory=list)

    def add(self, panel: Panel) -> Panel:
        if any(p.id == panel.id for p in self.items):
            raise ValueError(f"two dashboard panels with the id {panel.id!r}")
        self.items.append(panel)
        return panel

    def include(self, others: Iterable[Panels]) -> None:
        for other in others:
            for panel in other.items:
                self.add(panel)

    def ordered(self) -> list[Panel]:
        return sorted(self.items, key=lambda p: (p.order, p.id))

    def get(self, panel_id: str) -> Panel | None:
        return next((p for p in self.items if p.id == panel_id), None)
