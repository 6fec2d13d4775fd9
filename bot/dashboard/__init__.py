"""The hosts' dashboard at ``/dashboard/``: sign-in, sessions, CSRF, the shell, and a panel registry.

The runtime knows no panel: plugins expose ``panels`` (a :class:`Panels`) and
:func:`mount` shows them. The admin API (:mod:`bot.admin`) accepts the session
cookie beside the bearer token, with a CSRF token on every state-changing call.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from redis.asyncio import Redis

from ..settings import Settings
from .panels import Panel, Panels
from .routes import PANELS, routes
from .sessions import COOKIE, CSRF_HEADER, SESSION_SECONDS, SESSIONS, SessionStore

__all__ = ["COOKIE", "CSRF_HEADER", "SESSION_SECONDS", "Panel", "Panels", "mount"]


def mount(app: web.Application, settings: Settings, redis: Redis, panels: Iterable[Panels]) -> None:
    """Add ``/dashboard/`` with the given plugins' panels, and the session store the admin API checks."""
    combined = Panels()
    combined.include(panels)
    app[PANELS] = combined
    app[SESSIONS] = SessionStore(redis, settings.admin_token)
    app.add_routes(routes)
