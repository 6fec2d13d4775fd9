"""Send limits: atomic Redis token buckets checked before every Graph API call.

One Lua script (``buckets.lua``) decides and takes in a single step, across every
process, on the deployment clock (Redis TIME plus the offset at ``keys.clock_offset``,
see :data:`bot.clock.LUA_NOW`). Every key it touches is passed in KEYS and carries the
Page's hash tag (cluster-safe keys). Limits, each optional per call, all data passed in:

* **token gap** — a marketing token may be used again only ``token_gap_ms`` after its
  last use (48 h on the legacy path, 12 h on the Marketing Message API);
* **per shopper per day** — at most ``settings.sends_per_shopper_per_day`` marketing or
  notification sends per shopper per calendar day in the shop's time zone (its UTC
  offset computed here with zoneinfo, cached for a minute); counters expire after 2 days;
* **Page daily budget** — ``settings.page_daily_budget`` sends a day (0 = none), counted
  on the calls that count per day unless ``page_budget`` says otherwise;
* **Page send rate** — GCRA at ``settings.page_send_rate``/s (0 = uncapped) with a burst
  of ``max(1, rate // 20)``, so sends are spread evenly.

A call takes every limit it names or none: a refused per-day count does not spend the
token, a refused rate slot spends nothing. :class:`BucketDecision` says why not:
``frequency`` and ``page_budget`` are skips (``retry_after_ms``: when it would pass);
``page_rate`` means wait ``retry_after_ms`` and try again. With ``max_wait_ms`` a rate
slot is reserved up to that far ahead and the allowed decision carries ``delay_ms``
(:meth:`SendLimits.acquire` sleeps it), so workers sharing one cap make one call each
instead of polling in step.

A taken token whose send then fails: a send that never left (connection refused, a
policy skip after the take, a caller cancelled while its take was in flight) is refunded
with :meth:`SendLimits.refund` — token use and day counts come back, the rate slot does
not (it is time, already spent). A send that reached Meta and failed is not refunded:
Meta may have counted it; a 4/2018354 sets the token's next eligible time from Meta's
answer instead (:meth:`SendLimits.defer_token`). Tokens are keyed by a digest, never in clear.
A send job's take is remembered on its record (``job_id``/``route``): if its worker dies
between the take and the send, the worker that reclaims the job gets the same limits back
instead of being refused for frequency by the first worker's take.

The Page rate's interval can be stretched (:meth:`SendLimits.set_rate_factor`, 2.0 = half rate)
while Meta's usage headers run high (``bot.throttle``).

The takes go to Redis in batches on the limiter's own connections (:mod:`bot.bucket_batches`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .bucket_batches import NUM_KEYS, Argv, Batcher, unavailable
from .keys import Keys
from .settings import Settings
from .shop_calendar import shop_zone

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
TZ_REFRESH_S = 60.0
REASONS = (None, "frequency", "page_budget", "page_rate")


class Taken:
    """What an allowed take wrote (its arguments and Redis time), so it can be refunded."""

    __slots__ = ("argv", "now_ms")

    def __init__(self, argv: Argv, now_ms: int) -> None:
        self.argv = argv
        self.now_ms = now_ms

    def refund_argv(self, unused: bytes) -> Argv:
        numbers = self.argv[7].split(b":")
        gap, per_day, budget = numbers[0] != b"0", numbers[1] != b"0", numbers[6] != b"0"
        day = (self.now_ms + int(numbers[2]) * 60_000) // DAY_MS
        return (*self.argv[:3], self.argv[3] if gap else unused, self.argv[4] if per_day else unused, self.argv[5],
                b"r", b"%d" % self.now_ms if gap else b"", b"%d" % day, b"1" if per_day else b"0",
                b"1" if budget else b"0", b"%s@%d" % (self.argv[8], self.now_ms) if self.argv[8] else b"")


@dataclass(frozen=True, slots=True)
class BucketDecision:
    """The answer of one take: allowed (send after ``delay_ms``), or the reason and when to come back."""

    allowed: bool
    reason: str | None = None
    retry_after_ms: int = 0
    delay_ms: int = 0
    taken: Taken | None = field(default=None, repr=False, compare=False)


FREE = BucketDecision(True)


def token_digest(token: str) -> str:
    """Key part for a token: 64 bits of BLAKE2b, so no token sits in Redis key names."""
    return hashlib.blake2b(token.encode(), digest_size=8).hexdigest()


class SendLimits:
    """The send limits of one Page; one instance shared by the send workers of a process (``aclose`` it)."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, *, shop_timezone: str | None = None) -> None:
        self._zone = shop_zone(shop_timezone or settings.shop_timezone)  # a shopper's day is the shop's
        self._keys = keys
        self._batch = Batcher(redis, keys.send_page_rate, self._refund_orphan)
        self.per_day = settings.sends_per_shopper_per_day
        self.daily_budget = settings.page_daily_budget
        rate = settings.page_send_rate
        self._base_interval_ms = 1000.0 / rate if rate > 0 else 0.0
        self.interval_ms = self._base_interval_ms
        self.burst = max(1, int(rate // 20)) if rate > 0 else 0
        self._fixed = tuple(k.encode() for k in (keys.clock_offset, keys.send_page_rate, keys.send_page_budget))
        self._unused = keys.send_unused.encode()
        self._numbers_cache: dict[tuple[int, bool, bool, int, bool], bytes] = {}  # for the current tz offset
        self._tz, self._tz_until, self._last_now_ms = 0, 0.0, 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def take(self, *, shopper: str | None, token: str | None, token_gap_ms: int = 0, per_day: bool = False,
                   page_rate: bool = True, page_budget: bool | None = None, max_wait_ms: int = 0,
                   job_id: str | None = None, route: str = "") -> BucketDecision:
        """Check every limit named and take them all, or none: one EVALSHA.

        ``token_gap_ms`` > 0 with a ``token`` checks the token gap; ``per_day`` counts the
        shopper's day; ``page_budget`` (default: as ``per_day``) counts the Page's day when
        a budget is set; ``page_rate`` takes a rate slot, reserved up to ``max_wait_ms`` ahead.
        With a send job's ``job_id`` and ``route``, the take is remembered on the job's record:
        the same job asking again for the same route (a worker died after taking) is allowed
        without counting again, so a reclaimed job is not refused for its own earlier take.
        """
        if per_day and shopper is None:
            raise ValueError("per_day needs a shopper")
        gap = token_gap_ms if token is not None and token_gap_ms > 0 else 0
        budget = self.daily_budget > 0 and (per_day if page_budget is None else page_budget)
        rate = page_rate and self.interval_ms > 0
        if not (gap or per_day or budget or rate):
            return FREE
        argv = (
            *self._fixed,
            self._keys.send_token(token_digest(token)).encode() if gap and token is not None else self._unused,
            self._keys.send_shopper_day(shopper).encode() if per_day and shopper is not None else self._unused,
            self._keys.send_record(job_id).encode() if job_id and route else self._unused,
            b"t",
            self._numbers(gap, per_day, rate, max_wait_ms if rate else 0, budget),
            route.encode() if job_id else b"",
        )
        reply = await self._batch.submit(argv, repeatable=bool(job_id and route) or not (gap or per_day or budget))
        if reply[:1] != b"0":
            return BucketDecision(False, REASONS[reply[0] - 48], int(reply[2:]))
        _, now, delay = reply.split(b":")
        self._last_now_ms = now_ms = int(now)
        return BucketDecision(True, None, 0, int(delay), Taken(argv, now_ms))

    def set_rate_factor(self, factor: float) -> None:
        """Space the Page's sends ``factor`` times the cap's interval (2.0 while usage headers run high)."""
        interval = self._base_interval_ms * factor
        if interval != self.interval_ms:
            self.interval_ms = interval
            self._numbers_cache.clear()

    async def acquire(self, *, shopper: str | None = None, token: str | None = None, token_gap_ms: int = 0,
                      per_day: bool = False, page_budget: bool | None = None,
                      max_wait_ms: int = 1000) -> BucketDecision:
        """:meth:`take` with the Page rate that waits for its slot: returns when it is time to send, or a skip."""
        while True:
            decision = await self.take(shopper=shopper, token=token, token_gap_ms=token_gap_ms, per_day=per_day,
                                       page_budget=page_budget, max_wait_ms=max_wait_ms)
            if decision.allowed:
                try:
                    if decision.delay_ms:
                        await asyncio.sleep(decision.delay_ms / 1000)
                except asyncio.CancelledError:
                    self._spawn(self.refund(decision))  # nothing will be sent
                    raise
                return decision
            if decision.reason != "page_rate":
                return decision
            await asyncio.sleep(decision.retry_after_ms / 1000)

    async def wait_page_slot(self, max_wait_ms: int = 1000) -> None:
        """Wait until the Page may send once more, and take that slot."""
        await self.acquire(max_wait_ms=max_wait_ms)

    async def refund(self, taken: BucketDecision) -> None:
        """Give back what an allowed take used (rate slot excepted), for a send that never left.

        A token use is given back only if no later take or defer has replaced it.
        """
        if taken.taken is not None:
            await self._call(taken.taken.refund_argv(self._unused))

    async def defer_token(self, token: str, not_before_ms: int) -> None:
        """Meta refused the token for frequency (4/2018354): not eligible before its answer's time."""
        await self._call((*self._fixed, self._token_key(token), self._unused, self._unused, b"d",
                          b"%d" % not_before_ms))

    async def next_eligible_ms(self, token: str, gap_ms: int) -> int:
        """When the token may be used again (epoch ms, deployment clock); 0 if no use is on record."""
        return int((await self._peek(self._token_key(token), self._unused, gap_ms))[1])

    async def sends_today(self, shopper: str) -> int:
        """The shopper's counted sends in the shop's current day."""
        return int((await self._peek(self._unused, self._keys.send_shopper_day(shopper).encode(), 0))[2])

    async def page_sends_today(self) -> int:
        """The Page's sends counted against its daily budget today."""
        return int((await self._peek(self._unused, self._unused, 0))[3])

    async def aclose(self) -> None:
        """Finish the batches and refunds in flight, then close the limiter's own connections."""
        await self._batch.aclose()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _token_key(self, token: str) -> bytes:
        return self._keys.send_token(token_digest(token)).encode()

    def _numbers(self, gap: int, per_day: bool, rate: bool, max_wait_ms: int, budget: bool) -> bytes:
        """ARGV[2] of a take, cached: the same few combinations come back on every send."""
        tz = self._tz_minutes()
        key = (gap, per_day, rate, max_wait_ms, budget)
        packed = self._numbers_cache.get(key)
        if packed is None:
            if len(self._numbers_cache) > 256:
                self._numbers_cache.clear()
            packed = self._numbers_cache[key] = (
                f"{gap}:{self.per_day if per_day else 0}:{tz}:{self.interval_ms if rate else 0:.9f}:"
                f"{self.burst}:{max_wait_ms}:{self.daily_budget if budget else 0}"
            ).encode()
        return packed

    def _tz_minutes(self) -> int:
        """The shop's UTC offset in minutes, recomputed at most once a minute."""
        mono = time.monotonic()
        if mono >= self._tz_until:
            at = max(time.time(), self._last_now_ms / 1000)  # the sandbox clock may run ahead
            offset = datetime.fromtimestamp(at, self._zone).utcoffset()
            tz = int(offset.total_seconds() // 60) if offset else 0
            if tz != self._tz:
                self._tz = tz
                self._numbers_cache.clear()
            self._tz_until = mono + TZ_REFRESH_S
        return self._tz

    async def _peek(self, token_key: bytes, shopper_key: bytes, gap_ms: int) -> list[int]:
        return await self._call((*self._fixed, token_key, shopper_key, self._unused, b"p", b"%d" % gap_ms,
                                 b"%d" % self._tz_minutes()))

    async def _call(self, argv: Argv) -> Any:
        """A script call outside the batches (refunds, defers, reads: rare), EVALSHA with fallback."""
        try:
            return await self._batch.script(keys=argv[:NUM_KEYS], args=argv[NUM_KEYS:])
        except RedisError as exc:
            raise unavailable(exc) from exc

    def _refund_orphan(self, argv: Argv, reply: bytes) -> None:
        self._spawn(self.refund(BucketDecision(True, taken=Taken(argv, int(reply.split(b":")[1])))))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("send limits: a refund failed: %s", task.exception())
