"""Retry policy for Graph API calls: tenacity configured in this one place.

Retried: ``GraphTransient`` (exponential backoff with full jitter), ``GraphNetworkError``
when the request cannot have reached Meta (or the call is idempotent), and
``GraphThrottled`` (wait ``retry_after`` when Meta gives one, else exponential from ~1 s).
A throttle asking for longer than ``max_throttle_wait`` (any, when it is negative) is raised
at once so the caller can reschedule instead of holding a worker. Every other ``GraphError`` is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
    wait_random_exponential,
)

from .errors import GraphNetworkError, GraphThrottled, GraphTransient

log = logging.getLogger("bot.graph")

Sleep = Callable[[float], Awaitable[None]]

_transient_wait = wait_random_exponential(multiplier=0.2, max=5)


def should_retry(exc: BaseException, *, idempotent: bool, max_throttle_wait: float) -> bool:
    """Whether ``exc`` is worth another attempt right now."""
    if isinstance(exc, GraphTransient):
        return True
    if isinstance(exc, GraphNetworkError):
        return idempotent or not exc.sent_maybe
    if isinstance(exc, GraphThrottled):  # a negative max_throttle_wait: the caller reschedules throttles
        return max_throttle_wait >= 0 and (exc.retry_after is None or exc.retry_after <= max_throttle_wait)
    return False


def graph_retrying(
    max_attempts: int = 4,
    max_throttle_wait: float = 60.0,
    *,
    idempotent: bool = False,
    wait_scale: float = 1.0,
    sleep: Sleep = asyncio.sleep,
) -> AsyncRetrying:
    """An ``AsyncRetrying`` for one Graph call. ``wait_scale`` multiplies every wait (tests
    use a small one); ``sleep`` is the sleeper, so tests can record each planned wait."""
    throttle_wait = wait_exponential_jitter(multiplier=1, max=max_throttle_wait, jitter=1)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, GraphThrottled):
            seconds = exc.retry_after if exc.retry_after is not None else throttle_wait(state)
        else:
            seconds = _transient_wait(state)
        return seconds * wait_scale

    return AsyncRetrying(
        retry=retry_if_exception(
            lambda exc: should_retry(exc, idempotent=idempotent, max_throttle_wait=max_throttle_wait)
        ),
        wait=wait,
        stop=stop_after_attempt(max_attempts),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    if exc is None:
        return
    log.info(
        "graph retry %d in %.2fs after %s code=%s subcode=%s fbtrace_id=%s",
        state.attempt_number,
        state.upcoming_sleep,
        getattr(exc, "reason", type(exc).__name__),
        getattr(exc, "code", None),
        getattr(exc, "subcode", None),
        getattr(exc, "fbtrace_id", None),
    )
