"""The dialogue's side of a human takeover: the events that start or end it, and what is kept meanwhile.

(messenger-platform.md §2.3, §2.11; issue 14, "Handover".)

- an echo of a message the Page sent from another app (the Page Inbox): a person answered;
  the bot pauses (:class:`~dialogue.handover.HumanTakeover`), the "needs a person" flag clears
  and the message is kept in the conversation log;
- an event on ``standby`` (another app owns the thread): never answered; a stop still takes
  effect; a message or postback is kept for the agent, never dropped;
- ``pass_thread_control`` to us: the thread is ours again and the pause ends;
  ``take_thread_control`` from us: the Page Inbox took it (the bot pauses);
  ``request_thread_control``: the Page Inbox asks for it and the bot passes it;
- a shopper asking for a person (:mod:`dialogue.person_request`), or the fallback with
  ``HANDOVER_ON_FALLBACK``: the bot says a person will answer (``HANDOVER_TEXT``; the fallback's
  own answer says so already), pauses, and passes the thread to the Page Inbox after that
  message (:mod:`dialogue.thread_control`);
- when the pause ends with the thread still passed, :meth:`Handover.sweep` takes it back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.consent import ConsentStore
from bot.events import (
    DeliveryEvent,
    EchoEvent,
    HandoverEvent,
    MessageEvent,
    MessagingEvent,
    PostbackEvent,
    ReadEvent,
    StandbyEvent,
)

from .conversation_log import ConversationLog
from .followups import FollowUps
from .handover import HumanTakeover
from .needs_human import NeedsHuman
from .thread_control import ThreadControl

log = logging.getLogger(__name__)

IsStop = Callable[[MessageEvent], bool]
Now = Callable[[], Awaitable[int]]


def said(event: MessagingEvent) -> str | None:
    """What the shopper wrote or tapped, as the agent should read it (None: nothing to keep)."""
    if isinstance(event, MessageEvent):
        if event.text:
            return event.text
        return "📎 " + ", ".join(a.type for a in event.attachments) if event.attachments else None
    if isinstance(event, PostbackEvent):
        return f"[tapped] {event.title or event.payload or 'a button'}"
    return None


class Handover:
    """Takeover events and the hand-over to the Page Inbox, for one Page."""

    def __init__(self, takeover: HumanTakeover, threads: ThreadControl, log_: ConversationLog,
                 needs_human: NeedsHuman, consent: ConsentStore, followups: FollowUps, is_stop: IsStop,
                 now: Now) -> None:
        self.takeover, self.threads, self.log, self.needs_human = takeover, threads, log_, needs_human
        self._consent, self._followups, self._is_stop, self._now = consent, followups, is_stop, now

    async def keep(self, event: MessagingEvent, *, standby: bool = False) -> None:
        """Keep what the shopper wrote while a person has the conversation."""
        text = said(event)
        if text is not None:
            await self.log.add(event.psid, "shopper", text, event.timestamp, event=event.dedupe_key,
                               standby=True if standby else None)

    async def on_echo(self, event: EchoEvent) -> None:
        if await self.takeover.is_ours(event):
            return
        await self.takeover.pause(event.psid, event.timestamp)
        await self.needs_human.resolve(event.psid)  # a person answered it
        if event.text:
            await self.log.add(event.psid, "page_inbox", event.text, event.timestamp, mid=event.mid)

    async def on_standby(self, event: StandbyEvent) -> None:
        """Never answered. A stop typed while another app has the thread still takes effect,
        a likely one too: the bot cannot ask here, and a missed stop is the worst error."""
        inner = event.inner
        if isinstance(inner, (DeliveryEvent, ReadEvent)):
            return
        if isinstance(inner, EchoEvent):
            await self.on_echo(inner)
            return
        if isinstance(inner, MessageEvent) and self._is_stop(inner):
            await self._consent.opt_out_locally(event.psid)
            await self._followups.cancel(event.psid)
        if inner is not None:
            await self.keep(inner, standby=True)
        await self.takeover.pause(event.psid, event.timestamp)

    async def on_handover(self, event: HandoverEvent) -> None:
        psid = event.psid
        if event.action == "pass_thread_control":
            await self.threads.given_back(psid)
            await self.takeover.resume(psid)
        elif event.action == "take_thread_control":
            await self.threads.taken_by_inbox(psid, event.timestamp)
            await self.takeover.pause(psid, event.timestamp)
        elif event.action == "request_thread_control":
            await self.threads.pass_to_inbox(psid, "request", f"thread:{psid}:{event.timestamp}", event.timestamp)
            await self.takeover.pause(psid, event.timestamp)

    async def to_person(self, psid: str, reason: str, job_base: str, now_ms: int) -> None:
        """Hand the conversation to the Page Inbox: pause, flag, and pass the thread after what was queued."""
        await self.takeover.pause(psid, now_ms)
        await self.needs_human.mark(psid, now_ms)
        await self.threads.pass_to_inbox(psid, reason, job_base, now_ms)

    async def sweep(self) -> int:
        """Take back every passed thread whose pause has ended; returns how many."""
        now = await self._now()
        taken = 0
        for psid, _ in (await self.threads.passed()).items():
            if not await self.takeover.is_paused(psid, now) and await self.threads.take_back(psid, "pause_ended"):
                taken += 1
        return taken
