"""Waiting out a Redis outage: exponential backoff with jitter, and one log line per outage.

A loop that meets a Redis error keeps what it holds (a lease, a parsed batch, an outcome
not yet written), waits a little longer each time and tries the same step again; when
Redis answers it carries on at once. :class:`Outage` logs the first failure and the
recovery, not every attempt: a 30 s outage is two lines, not three hundred tracebacks.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError


class Backoff:
    """Delays of ``first`` doubling up to ``most`` seconds, each with up to 50 % jitter; reset on success."""

    def __init__(self, first: float = 0.05, most: float = 0.5) -> None:
        self.first = first
        self.most = most
        self._next = first

    def reset(self) -> None:
        self._next = self.first

    def delay(self) -> float:
        base = self._next
        self._next = min(self._next * 2, self.most)
        return base * (0.5 + random.random() / 2)

    async def wait(self, stop: asyncio.Event | None = None) -> bool:
        """Sleep the next delay; False (at once) when ``stop`` is set or gets set meanwhile."""
        seconds = self.delay()
        if stop is None:
            await asyncio.sleep(seconds)
            return True
        if stop.is_set():
            return False
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return True
        return False


class Outage:
    """Logs when a loop first meets a Redis error and when Redis answers again."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning("%s: Redis unavailable (%s: %s); retrying until it answers", self._what,
                              type(exc).__name__, exc)

    def recovered(self) -> None:
        if self._since is not None:
            self._log.info("%s: Redis answers again after %.1fs", self._what, time.monotonic() - self._since)
            self._since = None


async def poll_until_stopped(step: Callable[[], Awaitable[object]], stop: asyncio.Event, *, every: float,
                             what: str, log: logging.Logger) -> None:
    """A background task that runs ``step`` every ``every`` seconds until ``stop``: a Redis outage is
    logged once (:class:`Outage`), and a bug in one step is logged and never ends the loop."""
    outage = Outage(log, what)
    while not stop.is_set():
        try:
            await step()
            outage.recovered()
        except (RedisError, OSError) as exc:
            outage.failed(exc)
        except Exception:  # a bug must not end the loop of every later step
            log.exception("%s: a step failed; retrying", what)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except asyncio.TimeoutError:
            pass
