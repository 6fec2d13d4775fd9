"""Typed keys for objects the whole process shares through the aiohttp application (``app[REDIS]``).

What belongs to one Page (its keys, clock, stores) is in that Page's runtime: ``app[PAGES]``
(:mod:`bot.pages`).
"""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from .metrics import AppMetrics
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
METRICS = web.AppKey("metrics", AppMetrics)
