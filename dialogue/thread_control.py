"""Thread control with the Page Inbox (messenger-platform.md §2.11, the Handover Protocol).

When a shopper asks for a person, or the fallback fires (``HANDOVER_ON_FALLBACK``), the bot
tells them a person will answer and then passes thread control to the Page Inbox (app
263902037430900) with a metadata reason; while the Page Inbox owns the thread the shopper's
messages come on ``standby`` and are kept for the agent, never answered. The bot takes the
thread back when the agent marks the conversation done (admin API, dashboard) or when the
human pause ends; a ``pass_thread_control`` to us (the Page Inbox's "Done") ends it too.

The calls are send jobs in the outbox's reply lane (purpose ``thread_control``), so a pass
goes after the "a person will answer" message queued before it: a message sent into a thread
another app owns would fail with 2018300. Which threads we passed: HASH
:attr:`dialogue.keys.DialogueKeys.thread_passed` psid -> ms.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from bot.graph.payloads import PAGE_INBOX_APP_ID, thread_control_message
from bot.keys import Keys
from bot.outbox import Outbox, SendJob
from bot.replies import text

from .keys import DialogueKeys

# Metadata reasons the bot gives Meta (and the Page Inbox) with a pass or a take.
REASONS = ("asked_for_person", "fallback", "request", "agent_done", "pause_ended")


class ThreadControl:
    """The threads of one Page the bot gave to the Page Inbox."""

    def __init__(self, redis: Redis, keys: Keys, outbox: Outbox) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)
        self._outbox = outbox

    async def owner(self, psid: str) -> str:
        """``page_inbox`` while we passed the thread there, else ``bot``."""
        return "page_inbox" if await self._redis.hexists(self._keys.thread_passed, psid) else "bot"

    async def passed(self) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], await self._redis.hgetall(self._keys.thread_passed))
        return {text(k): int(v) for k, v in raw.items()}

    async def pass_to_inbox(self, psid: str, reason: str, job_base: str, now_ms: int) -> bool:
        """Queue the pass (after what was queued to the shopper before it); False if already passed.

        The job first, then the mark, each safe to repeat (the job's id comes from ``job_base``): a
        handler that dies between the two and runs again neither loses the pass nor makes two."""
        if await self._redis.hexists(self._keys.thread_passed, psid):
            return False
        message = thread_control_message("pass", str(PAGE_INBOX_APP_ID), reason)
        await self._outbox.enqueue(SendJob(id=f"{job_base}:pass", purpose="thread_control", psid=psid,
                                           message=message))
        await self._redis.hsetnx(self._keys.thread_passed, psid, now_ms)
        return True

    async def take_back(self, psid: str, reason: str, job_base: str = "") -> bool:
        """Queue a take of a thread we passed; False (nothing queued) when we did not pass it.
        The job first, then the mark goes (safe to repeat, as :meth:`pass_to_inbox`)."""
        at = await self._redis.hget(self._keys.thread_passed, psid)
        if at is None:
            return False
        message = thread_control_message("take", "", reason)
        base = job_base or f"thread:{psid}:{text(at)}"
        await self._outbox.enqueue(SendJob(id=f"{base}:take", purpose="thread_control", psid=psid, message=message))
        await self._redis.hdel(self._keys.thread_passed, psid)
        return True

    async def given_back(self, psid: str) -> None:
        """A ``pass_thread_control`` to us: the thread is ours again."""
        await self._redis.hdel(self._keys.thread_passed, psid)

    async def taken_by_inbox(self, psid: str, now_ms: int) -> None:
        """A ``take_thread_control`` from us: the Page Inbox owns the thread (its people answer)."""
        await self._redis.hsetnx(self._keys.thread_passed, psid, now_ms)
