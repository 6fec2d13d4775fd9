"""Running a turn's rasa-sdk actions on a shopper's tracker and queuing what they say.

An action runs with the facts it sees as slots (:mod:`dialogue.facts`), its events are applied to the
tracker (a ``FollowupAction`` chains at most :data:`MAX_CHAIN` hops), rasa's ConversationPaused/Resumed
become the same pause as a human takeover, and its messages become send jobs ``<base>:<n>``, each after
the one before it, so a redelivered event never queues a message twice.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.clock import Clock
from bot.consent import ShopperConsent
from bot.outbox import Outbox, SendJob
from bot.turn_commit import TurnCommit

from .actions import ActionRunner
from .facts import FactReader, ShopperRows
from .handover import HumanTakeover
from .messages import Reply, to_replies
from .tracker_store import State, apply_events, record_action, record_bot

log = logging.getLogger(__name__)

OPTIN_CONFIRMED, OTN_CONFIRMED, FOLLOWUP = "action_optin_confirmed", "action_otn_confirmed", "action_followup"
FALLBACK = "action_default_fallback"
STORY_MENTION = "action_story_mention"  # an Instagram story mention with nothing else said (intents/story_mention.py)
MAX_CHAIN = 3  # FollowupAction hops per turn


def job_base(dedupe_key: str) -> str:
    """A send-job id prefix from an event's dedupe key ('|' is reserved by the outbox)."""
    return "dlg:" + dedupe_key.replace("|", "/")


class TurnActions:
    def __init__(self, actions: ActionRunner, domain: dict[str, Any], facts: FactReader, clock: Clock,
                 takeover: HumanTakeover, outbox: Outbox) -> None:
        self.actions = actions
        self.domain = domain
        self._facts = facts
        self._clock = clock
        self._takeover = takeover
        self._outbox = outbox

    async def run(self, state: State, name: str, channel: str, *, facts: dict[str, Any] | None = None,
                  now_ms: int | None = None, consent: ShopperConsent | None = None,
                  rows: ShopperRows | None = None) -> list[Reply]:
        """Run the action (and any FollowupAction it returns) on the tracker; returns its messages.

        ``now_ms``: the turn's "now", read once per turn (each read of the clock is a Redis round trip)."""
        at = now_ms if now_ms is not None else await self._clock.now_ms()
        state["slots"].update(facts or await self._facts.read(state["sender_id"], channel, at, consent, rows))
        replies: list[Reply] = []
        for _ in range(MAX_CHAIN):
            if not self.actions.has(name):
                log.warning("no action named %s is registered", name)
                break
            result = await self.actions.run(name, state, self.domain)
            record_action(state, name, at)
            follow = apply_events(state, result.events)
            await self._pause_events(state["sender_id"], result.events, at)
            new = to_replies(result.responses)
            for reply in new:
                record_bot(state, reply.message, at)
            replies += new
            if not follow or follow[0] == "action_listen":
                break
            name = follow[0]
        return replies

    async def _pause_events(self, psid: str, events: list[dict[str, Any]], at: int) -> None:
        """rasa's ConversationPaused/Resumed from an action: the same time-limited pause as a human takeover."""
        for event in events:
            if event.get("event") == "pause":
                await self._takeover.pause(psid, at)
            elif event.get("event") == "resume":
                await self._takeover.resume(psid)

    async def enqueue(self, replies: list[Reply], base: str, *, psid: str, explicit: bool = False,
                      commit: TurnCommit | None = None) -> None:
        """Queue the replies as send jobs ``<base>:<n>``, now, or with the event's completion (``commit``)."""
        jobs = [SendJob(id=f"{base}:{n}", purpose=r.purpose, message=r.message, psid=psid, title=r.title,
                        explicit=explicit and r.purpose == "optin_request", after=f"{base}:{n - 1}" if n else "")
                for n, r in enumerate(replies)]
        if jobs and commit is not None:
            commit.enqueue(self._outbox.enqueue_arguments(jobs))
        elif jobs:
            await self._outbox.enqueue_many(jobs)
