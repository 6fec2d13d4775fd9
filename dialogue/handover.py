"""Human takeover: when a person answers from the Page's inbox, the bot steps back.

Signals (messenger-platform.md §2.3, §2.11): an echo of a message the Page sent with
an ``app_id`` other than ours, or none (the Page Inbox is app 263902037430900), and
any event arriving on ``standby`` (another app owns the thread). Each pauses the bot
for that shopper for ``HUMAN_PAUSE_MINUTES`` from the human's message; a later human
message extends the pause. Echoes of our own sends carry our app id or the send
job's id as ``metadata``, and are not a takeover. A ``pass_thread_control`` back to
us ends the pause.

The pause is a hash field ``psid -> until_ms`` on the deployment clock (so a sandbox
test that advances the clock sees it end); raising it is one atomic step.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.batched_reads import Staged, stage
from bot.events import EchoEvent
from bot.keys import Keys
from bot.outbox import Outbox
from bot.scripts import register_script
from bot.settings import Settings

from .keys import DialogueKeys

_RAISE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local wanted = tonumber(ARGV[2])
if wanted > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return wanted end
return current
"""


class HumanTakeover:
    """Reads and writes the per-shopper pause of one Page."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, outbox: Outbox) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)
        self._settings = settings
        self._outbox = outbox
        self._raise = register_script(redis, _RAISE)

    async def is_ours(self, echo: EchoEvent) -> bool:
        """True for the echo of a message this bot sent."""
        if echo.app_id and self._settings.app_id and echo.app_id == self._settings.app_id:
            return True
        return bool(echo.metadata) and await self._outbox.record(echo.metadata or "") is not None

    async def pause(self, psid: str, human_ms: int) -> int:
        """A human spoke at ``human_ms``: quiet until then plus the pause; returns the pause end."""
        until = human_ms + self._settings.human_pause_minutes * 60_000
        return int(await self._raise(keys=[self._keys.human_paused], args=[psid, until]))

    async def paused_until(self, psid: str) -> int:
        return int(await self._redis.hget(self._keys.human_paused, psid) or 0)

    def stage_paused_until(self, pipe: Any, psid: str) -> Staged[int]:
        """When the shopper's pause ends (0: not paused), read in the caller's pipeline."""
        return stage(pipe, lambda: pipe.hget(self._keys.human_paused, psid), lambda replies: int(replies[0] or 0))

    async def is_paused(self, psid: str, now_ms: int) -> bool:
        return await self.paused_until(psid) > now_ms

    async def resume(self, psid: str) -> None:
        await self._redis.hdel(self._keys.human_paused, psid)
