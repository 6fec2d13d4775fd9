"""A person of the Page answers a shopper from the admin API or the dashboard (issue 14, "Handover").

Rules (messenger-platform.md §3.3, §4.1; the policy's ``agent_reply``, :func:`bot.policy.agent_reply_plan`):

- inside the 24-hour window the reply goes as a normal ``RESPONSE``;
- after it, and within 7 days of the shopper's last message, it goes with the ``HUMAN_AGENT``
  tag, only when ``HUMAN_AGENT_TAG`` is on (Meta grants the Human Agent feature through App
  Review); otherwise, or after 7 days, it is refused up front (the API's 422 with the reason)
  and nothing is queued; the send worker judges it again when it goes;
- it is a send job in the outbox like every other message (never a Graph call from here);
- a thread the bot passed to the Page Inbox is taken back first (our app sends the reply, and a send
  into a thread another app owns fails with 2018300, §2.11); the pause keeps the bot quiet;
- it pauses the bot for that shopper as a human message does (``HUMAN_PAUSE_MINUTES``), clears
  the "needs a person" flag and is kept in the conversation log;
- a reply never opens or refreshes the window: the bot's own sends stay bound to 24 hours
  from the shopper's last message (§4.1).

:meth:`AgentDesk.done`: the agent is finished; the bot resumes at once and takes the thread
back if it had passed it to the Page Inbox (:mod:`dialogue.thread_control`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.graph import payloads
from bot.outbox import SendJob
from bot.policy import HUMAN_AGENT_MS, Facts, Reason, decide, in_window

from .conversation_log import ConversationLog
from .handover import HumanTakeover
from .needs_human import NeedsHuman
from .thread_control import ThreadControl

if TYPE_CHECKING:
    from bot.runtime import Runtime

REFUSALS: dict[str, str] = {
    Reason.TOO_OLD: "the shopper's last message is more than 7 days old (or they never wrote): Meta allows no "
                    "reply then, not even with the HUMAN_AGENT tag (messenger-platform.md §3.3)",
    Reason.FEATURE_OFF: "outside the 24-hour window a person's reply needs the HUMAN_AGENT tag, which is off: "
                        "set HUMAN_AGENT_TAG=true once Meta granted the Page's app the Human Agent feature "
                        "(messenger-platform.md §3.3)",
    Reason.UNREACHABLE: "the shopper cannot be reached (they blocked the Page or their account is gone)",
}


class ReplyRefused(ValueError):
    """The reply may not go (the API's 422); ``reason`` is the policy's."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS.get(reason, reason))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Queued:
    job_id: str
    route: str  # RESPONSE or HUMAN_AGENT
    paused_until_ms: int
    queued: bool


class AgentDesk:
    """What the Page's people do with one Page's conversations."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.takeover = HumanTakeover(runtime.redis, runtime.keys, runtime.settings, runtime.outbox)
        self.log = ConversationLog(runtime.redis, runtime.keys)
        self.needs_human = NeedsHuman(runtime.redis, runtime.keys)
        self.threads = ThreadControl(runtime.redis, runtime.keys, runtime.outbox)

    async def last_message_ms(self, psid: str) -> int:
        return await self.runtime.window.last_action_ms(psid)

    async def reply(self, psid: str, text: str, *, key: str = "") -> Queued:
        """Queue a person's reply; :class:`ReplyRefused` when the policy says no (nothing queued).

        ``key``: the caller's idempotency key (the same key queues the reply once)."""
        message = payloads.text(text)  # PayloadError: empty or over 2000 characters
        now = await self.runtime.clock.now_ms()
        consent = await self.runtime.consent.consent(psid, self.settings.optin_topic)
        plan = decide("agent_reply", Facts(now_ms=now, last_action_ms=await self.last_message_ms(psid),
                                           consent=consent), self.settings)
        if plan.skip is not None:
            raise ReplyRefused(plan.skip)
        route = plan.routes[0].tag or plan.routes[0].messaging_type or ""
        job = SendJob(id=f"agent:{psid}:{key or secrets.token_hex(8)}", purpose="agent_reply", psid=psid,
                      message=message)
        # our app sends it: a thread we passed to the Page Inbox is taken back first (else 2018300, §2.11)
        await self.threads.take_back(psid, "agent_reply", job_base=job.id)
        queued = await self.runtime.outbox.enqueue(job)
        until = await self.takeover.pause(psid, now)
        if queued:
            await self.log.add(psid, "agent", text, now, job_id=job.id, route=route)
        await self.needs_human.resolve(psid)
        return Queued(job.id, route, until, queued)

    async def done(self, psid: str) -> bool:
        """The agent is finished: the bot answers again now; returns True if the thread is taken back."""
        await self.takeover.resume(psid)
        await self.needs_human.resolve(psid)
        return await self.threads.take_back(psid, "agent_done")

    async def listed(self, limit: int) -> list[tuple[str, int]]:
        """``(psid, latest_ms)``: conversations with kept messages or waiting for a person, latest first."""
        latest = dict(await self.log.recent(limit))
        for psid, since in await self.needs_human.waiting(limit):
            latest.setdefault(psid, since)
        return sorted(latest.items(), key=lambda item: -item[1])[:limit]

    async def view(self, psid: str) -> dict[str, Any]:
        """The kept conversation, oldest first, with the takeover state and how a reply would go now."""
        now = await self.runtime.clock.now_ms()
        last = await self.last_message_ms(psid)
        paused_until = await self.takeover.paused_until(psid)
        plan = decide("agent_reply", Facts(now_ms=now, last_action_ms=last), self.settings)
        reply: dict[str, Any] = ({"allowed": False, "reason": str(plan.skip), "why": REFUSALS.get(plan.skip, "")}
                                 if plan.skip is not None else
                                 {"allowed": True, "route": plan.routes[0].tag or plan.routes[0].messaging_type})
        return {
            "psid": psid,
            "messages": [e.to_json() for e in await self.log.entries(psid)],
            "takeover": {
                "paused": paused_until > now, "paused_until_ms": paused_until or None,
                "thread_owner": await self.threads.owner(psid),
                "needs_human_since_ms": await self.needs_human.since(psid),
            },
            "window": {"last_message_ms": last or None, "open": in_window(last, now),
                       "human_agent_until_ms": last + HUMAN_AGENT_MS if last else None},
            "reply": reply,
        }
