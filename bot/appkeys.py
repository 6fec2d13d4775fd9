"""Typed keys for objects shared through the aiohttp application (``app[REDIS]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from redis.asyncio import Redis

from .clock import Clock
from .keys import Keys
from .metrics import AppMetrics
from .settings import Settings

if TYPE_CHECKING:
    from .runtime import Runtime

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
KEYS = web.AppKey("keys", Keys)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", AppMetrics)
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
