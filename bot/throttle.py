"""The Page's send pause and slowdown: Meta's throttling and usage headers, shared by every worker.

messenger-platform.md §6.4: stop calling as soon as a throttle code appears (continuing extends
the block), wait ``estimated_time_to_regain_access`` when Meta gives one, else back off
exponentially from about 30 s. So a throttle answer (codes 4, 17, 32, 613, 80001, 80006,
2300078-80, HTTP 429) pauses the whole Page — one Redis hash (``Keys.send_throttle``) every
worker reads before it calls — and the throttled job waits in the delayed ZSET
(``bot.send_retry``), never in a batch. During a pause one probe call a second is let through,
a shopper's reply if one is waiting (a reply never waits longer than a probe interval); a success
ends the pause, and what waited for its end is due at once. A throttled probe keeps the pause
going but does not lengthen the next one: the level (the doubling) counts pauses, not probes.

Usage headers on successful answers (§6.2) slow the Page before Meta throttles it: at
``USAGE_SLOW_PERCENT`` the Page rate is halved (the GCRA limiter's interval doubled, for
``SLOW_HOLD_MS`` after the last such answer), at ``USAGE_PAUSE_PERCENT`` (or with an estimate to
regain access) the Page pauses ``SEND_USAGE_PAUSE_SECONDS`` or the estimate, without probes.

Each worker keeps a view of the hash, refreshed by every script reply and by the delayed-job
loop's poll (every ``bot.send_retry.POLL_SECONDS``): a call outside any known pause costs no
Redis round trip; a pause set by another worker is honoured within one poll.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .buckets import SendLimits
from .clock import LUA_NOW
from .graph import GraphThrottled, Usage
from .keys import Keys
from .replies import text as _text
from .scripts import register_script
from .send_jobs import REPLIES
from .settings import Settings

log = logging.getLogger(__name__)

SCRIPT = LUA_NOW + Path(__file__).with_name("throttle.lua").read_text()
PROBE_INTERVAL_MS = 1000
MAX_PAUSE_MS = 15 * 60_000
LEVEL_KEEP_MS = 10 * 60_000  # throttles in a row are remembered this long after a pause ends
USAGE_SLOW_PERCENT = 90.0  # below what our own 250/s cap shows in the sandbox's per-second usage (83 %)
USAGE_PAUSE_PERCENT = 95.0
SLOW_HOLD_MS = 10_000


@dataclass(frozen=True, slots=True)
class Admission:
    """May a call go now: ``go`` (``probe``: as the pause's probe), else wait ``wait_ms``."""

    go: bool
    probe: bool = False
    wait_ms: int = 0


GO = Admission(True)


class PageThrottle:
    """This worker's view of the Page's pause and slowdown, and the calls that change them."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, limits: SendLimits) -> None:
        self._script = register_script(redis, SCRIPT)
        self._keys = [keys.clock_offset, keys.send_throttle, keys.outbox, keys.outbox_delayed,
                      keys.outbox_campaigns_delayed]
        self._limits = limits
        self._base_ms = settings.send_throttle_base_seconds * 1000
        self._usage_pause_ms = settings.send_usage_pause_seconds * 1000
        self._offset_ms = 0.0  # deployment clock minus this machine's, from the last Redis reply
        self.until_ms = 0
        self.kind = ""
        self.level = 0
        self.slow_until_ms = 0

    # -- the view ------------------------------------------------------------------
    def now_ms(self) -> int:
        """The deployment clock (Redis TIME plus the sandbox offset), estimated from the last reply."""
        return int(time.time() * 1000 + self._offset_ms)

    def saw_now(self, now_ms: int) -> None:
        self._offset_ms = now_ms - time.time() * 1000

    @property
    def paused(self) -> bool:
        return self.until_ms > self.now_ms()

    def observe(self, now_ms: int, until_ms: int, kind: str, level: int, slow_until_ms: int) -> None:
        """A fresh copy of the hash (from a script or the poll)."""
        self.saw_now(now_ms)
        self.until_ms, self.kind, self.level, self.slow_until_ms = until_ms, kind, level, slow_until_ms
        self._limits.set_rate_factor(2.0 if slow_until_ms > now_ms else 1.0)

    # -- before a call -------------------------------------------------------------
    async def admit(self, purpose: str, lane: str) -> Admission:
        """During a pause: this call as the probe, or how long to wait (a reply waits one probe interval)."""
        if not self.paused:
            return GO
        verdict = await self._run("g", "1" if lane == REPLIES else "0", PROBE_INTERVAL_MS)
        if verdict == "go":
            return GO
        if verdict == "probe":
            log.info("send pause: a %s goes as the probe", purpose)
            return Admission(True, probe=True)
        left = max(0, self.until_ms - self.now_ms())
        if self.kind == "throttle" and lane == REPLIES:
            left = min(left, PROBE_INTERVAL_MS)  # back for the next probe
        return Admission(False, wait_ms=left + random.randint(0, 100))

    # -- after a call ----------------------------------------------------------------
    async def throttled(self, exc: GraphThrottled, *, probe: bool) -> int:
        """Meta throttled a call: pause the Page (longer each time in a row); returns ms until it ends."""
        estimate = int((exc.retry_after or 0) * 1000)
        was_paused, level_before = self.paused and self.kind == "throttle", self.level
        try:
            await self._run("t", estimate, int(self._base_ms), MAX_PAUSE_MS, "1" if probe else "0",
                            f"{random.uniform(0.8, 1.2):.3f}", LEVEL_KEEP_MS)
        except (RedisError, OSError) as err:  # Redis down: this worker still pauses, by its own view
            log.warning("send pause: could not share it (%s)", type(err).__name__)
            self.until_ms = max(self.until_ms, self.now_ms() + (estimate or int(self._base_ms)))
            self.kind = "throttle"
        # once per pause (and when it deepens), not once per throttled call of every worker
        report = log.warning if not was_paused or self.level > level_before else log.info
        report("Page throttled by Meta (code %s, http %s): sends paused %.1fs (level %d)", exc.code,
               exc.http_status, (self.until_ms - self.now_ms()) / 1000, self.level)
        return max(0, self.until_ms - self.now_ms())

    async def succeeded(self, usage: Usage, *, probe: bool) -> None:
        """A call went through: end a throttle pause, and slow down or pause if its usage headers say so."""
        try:
            if probe or self.level > 0 or self.kind == "throttle":
                await self._run("l")
                if probe:
                    log.info("send pause: the probe went through; sending again")
            percent, regain = usage.max_percent, usage.regain_seconds
            if percent >= USAGE_PAUSE_PERCENT or regain:
                pause_ms = int(regain * 1000) if regain else int(self._usage_pause_ms)
                if self.until_ms < self.now_ms() + pause_ms // 2:
                    log.warning("send usage at %.0f%%: sends paused %.1fs", percent, pause_ms / 1000)
                    await self._run("u", SLOW_HOLD_MS, pause_ms, LEVEL_KEEP_MS)
            elif percent >= USAGE_SLOW_PERCENT and self.slow_until_ms < self.now_ms() + SLOW_HOLD_MS // 2:
                log.info("send usage at %.0f%%: the Page rate is halved", percent)
                await self._run("u", SLOW_HOLD_MS, 0, LEVEL_KEEP_MS)
        except (RedisError, OSError) as err:  # best effort: the next answer tells again
            log.warning("send pause: could not update it (%s)", type(err).__name__)

    async def _run(self, mode: str, *args: str | int | float) -> str:
        now, until, kind, level, slow, verdict = await self._script(keys=self._keys, args=[mode, *args])
        self.observe(int(now), int(until), _text(kind), int(level), int(slow))
        return _text(verdict)


