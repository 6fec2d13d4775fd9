"""Whether a campaign was cancelled, asked right before each of its calls (DESIGN: a cancel stops
every worker's sends within a second).

A job's facts are loaded when its batch starts; at the Page's send rate a batch in hand can take
seconds to go out, so the cancel flag (``Keys.campaign_cancelled``, set by the fan-out's cancel) is
looked at again just before the call. One worker asks Redis at most every ``FRESH_SECONDS`` per
campaign, however many of its sends are waiting: a cancel is seen within that, plus calls in flight.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from .keys import Keys

FRESH_SECONDS = 0.25


class CancelWatch:
    """One worker's view of which campaigns are cancelled, at most ``FRESH_SECONDS`` old."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._known: dict[str, tuple[float, bool]] = {}  # campaign -> (when looked at, cancelled)
        self._asking: dict[str, asyncio.Future[bool]] = {}

    async def cancelled(self, campaign: str) -> bool:
        """True once the campaign is cancelled (a cancel is never undone). Raises Redis errors."""
        seen = self._known.get(campaign)
        if seen is not None and (seen[1] or time.monotonic() - seen[0] < FRESH_SECONDS):
            return seen[1]
        asking = self._asking.get(campaign)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._asking[campaign] = future
        try:
            answer = bool(await self._redis.exists(self._keys.campaign_cancelled(campaign)))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it raised, nobody logs it as lost
            raise
        finally:
            self._asking.pop(campaign, None)
        self._known[campaign] = (time.monotonic(), answer)
        if len(self._known) > 1000:  # campaigns come and go: forget the oldest
            for old in sorted(self._known, key=lambda c: self._known[c][0])[:500]:
                del self._known[old]
        future.set_result(answer)
        return answer
