"""The dialogue engine: shopper events -> intent -> rasa-sdk action -> send jobs in the outbox.

One :class:`Dialogue` per process (``runtime.context["dialogue"]``). Its handlers
(:data:`registry`) run under the runtime's per-shopper ordering, so a shopper's
tracker is loaded, changed and saved by one handler at a time:

- message / postback / referral: a tapped payload names its intent (``Intent.payloads``
  or ``/<intent>``), else the spotter reads the text. An opt-out takes effect first,
  before anything else can fail; a likely but uncertain one asks first ("Stop live
  reminders?", :mod:`dialogue.confirm`), and a typed yes or no soon after counts
  like the tap. Then, unless a human has the thread, the intent's action runs and its
  messages are queued; a message with no intent gets the fallback answer and is flagged
  for a person (:mod:`dialogue.needs_human`); the opt-in follow-up is (re)scheduled;
- comment: the opt-in keyword gets one private reply (:mod:`dialogue.comment_turns`);
- opt-ins (after the ledger recorded them): a confirmation, only inside the window, and the follow-up
  nudge (:mod:`dialogue.optin_turns`);
- echo / standby / handover: human takeover (:mod:`dialogue.handover_turns`); while a person
  has the conversation, what the shopper writes is kept for them (:mod:`dialogue.conversation_log`);
- a shopper asking for a person (:mod:`dialogue.person_request`), or the fallback with
  ``HANDOVER_ON_FALLBACK``: the thread goes to the Page Inbox (:mod:`dialogue.thread_control`).

What a shopper meant is read by :mod:`dialogue.understanding`; actions run and their messages are
queued by :mod:`dialogue.action_turns`, as send jobs ``dlg:<event dedupe key>:<n>``, so a redelivered
or retried event never queues a message twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import turn_commit
from bot.batched_reads import Staged, run_batch, write_together
from bot.consent import ShopperConsent
from bot.events import (
    CommentEvent,
    EchoEvent,
    HandoverEvent,
    MarketingOptinEvent,
    MessageEvent,
    MessagingEvent,
    OtnOptinEvent,
    StandbyEvent,
)
from bot.graph import payloads
from bot.graph.payloads import PayloadError
from bot.handlers import HandlerRegistry

from .action_turns import FALLBACK, FOLLOWUP, OPTIN_CONFIRMED, OTN_CONFIRMED, STORY_MENTION, TurnActions, job_base
from .actions import ActionServerError, domain_of, load_intents, make_runner
from .comment_gate import CommentReplyGate
from .comment_turns import answer_comment
from .confirm import ASKED_SLOT, CONFIRM, answer_to_question
from .conversation_log import ConversationLog
from .facts import FactReader, ShopperRows
from .followups import FollowUps
from .handover import HumanTakeover
from .handover_turns import Handover
from .kit import FACT_SLOTS
from .messages import Reply
from .needs_human import NeedsHuman
from .nlu import Spotter
from .nlu.spotter import model_setting
from .optin_turns import confirm_optin, fire_followup, followup_due
from .person_request import asks_for_person
from .thread_control import ThreadControl
from .tracker_store import State, TrackerStore, already_handled, mark_handled, record_user
from .understanding import GREETING, NONE, OPT_IN, OPT_OUT, Understanding

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnOpening:
    """A chat turn's first reads, in one round trip: the tracker, the consent (after any opt-out of this
    turn), the human pause, the shopper's fact rows and the clock."""

    state: State
    consent: ShopperConsent
    paused_until: int  # when a person's hold on the thread ends; 0: none
    rows: ShopperRows  # what the facts an action sees are built from
    now: int  # the deployment clock as the turn opened (ms)


class Dialogue:
    """Intents, actions, trackers and follow-ups of one Page, for one process."""

    def __init__(self, runtime: Runtime) -> None:
        s = self.settings = runtime.settings
        self.redis, self.keys, self.clock = runtime.redis, runtime.keys, runtime.clock
        self.outbox, self.consent, self.window = runtime.outbox, runtime.consent, runtime.window
        intents = {i.name: i for i in load_intents(s.intents_packages)}
        self.meaning = Understanding(intents, Spotter(list(intents.values()), optin_keywords=s.optin_keywords,
                                                      model=model_setting(s.nlu_weights)))
        self.action_of = {i.name: i.action().name() for i in intents.values() if i.action is not None}
        domain = domain_of(list(intents.values()),
                           [*self.action_of.values(), OPTIN_CONFIRMED, OTN_CONFIRMED, FOLLOWUP, FALLBACK,
                            STORY_MENTION],
                           [*FACT_SLOTS, ASKED_SLOT])
        self.store = TrackerStore(self.redis, self.keys)
        self.services = runtime.services
        self.facts = FactReader(self.redis, self.keys, s, self.clock, self.consent, runtime.services)
        self.takeover = HumanTakeover(self.redis, self.keys, s, self.outbox)
        self.turns = TurnActions(make_runner(s.intents_packages, list(intents.values()), s.action_server_url,
                                             s.remote_actions), domain, self.facts, self.clock, self.takeover,
                                 self.outbox)
        self.followups = FollowUps(self.redis, self.keys, lambda psid, due: fire_followup(self, psid, due))
        self.needs_human = NeedsHuman(self.redis, self.keys)
        self.comment_gate = CommentReplyGate(self.redis, self.keys, self.outbox)
        self.threads = ThreadControl(self.redis, self.keys, self.outbox)
        self.conversations = ConversationLog(self.redis, self.keys)
        self.handover = Handover(self.takeover, self.threads, self.conversations, self.needs_human, self.consent,
                                 self.followups, lambda m: self.meaning.understand(m)[0] in (OPT_OUT, CONFIRM),
                                 self.clock.now_ms)

    async def close(self) -> None:
        await self.turns.actions.close()

    # -- a chat turn --------------------------------------------------------------
    async def on_chat(self, event: MessagingEvent) -> None:
        psid = event.psid
        commit = turn_commit.current()  # under a consumer: the replies and last writes go with the completion
        intent, confidence, text, metadata = self.meaning.understand(event)
        if intent == OPT_OUT:  # at once, before anything that could fail: a missed stop is the worst error
            await self.consent.opt_out_locally(psid)
            await self.followups.cancel(psid)
        opening = await self.open_turn(psid)
        state = opening.state
        if already_handled(state, event.dedupe_key):
            return
        known: ShopperConsent | None = opening.consent  # the shopper's consent as this turn last read it
        if intent == OPT_IN:
            known = await self.consent_again(psid, opening.consent)
        now = opening.now
        answered = answer_to_question(intent, text, metadata, state["slots"], now)
        if answered is not None:
            intent, metadata = answered
            if intent == OPT_OUT:
                await self.consent.opt_out_locally(psid)
                await self.followups.cancel(psid)
                known = None
        record_user(state, text=text, intent=intent, confidence=confidence, metadata=metadata,
                    at_ms=event.timestamp)
        decided_followup, nudge_due = False, None  # the nudge stays as it is unless the turn decides it
        if opening.paused_until > now:
            await self.handover.keep(event)  # a person has the conversation: kept for them, never dropped
        elif intent in (NONE, GREETING) and isinstance(event, MessageEvent) and asks_for_person(text):
            await self.to_person(event, now, "asked_for_person")
        else:
            # read once for the turn (the action and the follow-up see the same; actions never change it)
            consent = known or await self.consent.consent(psid, self.settings.optin_topic)
            name = self.action_of.get(intent)
            replies: list[Reply] = []
            fell_back = False
            if name:
                try:
                    replies = await self.turns.run(state, name, "chat", now_ms=now, consent=consent,
                                                    rows=opening.rows)
                except ActionServerError:  # a shop's remote action with no local version (logged there)
                    replies = await self.fallback(state, psid, now, consent, opening.rows)
            elif intent == NONE and isinstance(event, MessageEvent) and event.story_mention \
                    and self.turns.actions.has(STORY_MENTION):  # mentioned in their story: thanks, not the fallback
                replies = await self.turns.run(state, STORY_MENTION, "chat", now_ms=now, consent=consent,
                                                rows=opening.rows)
            elif intent == NONE and isinstance(event, MessageEvent):
                replies = await self.fallback(state, psid, now, consent, opening.rows)
                fell_back = bool(replies)
            handing_over = fell_back and self.settings.handover_on_fallback  # its thread pass goes after them
            await self.turns.enqueue(replies, job_base(event.dedupe_key), psid=psid, explicit=intent == OPT_IN,
                                     commit=None if handing_over else commit)
            if fell_back:  # flagged for a person: what they asked is kept for them
                await self.handover.keep(event)
                if handing_over:
                    await self.handover.to_person(psid, "fallback", job_base(event.dedupe_key), now)
            decided_followup, nudge_due = True, followup_due(self.settings, now, consent)
        mark_handled(state, event.dedupe_key)

        def last_writes(pipe: Any) -> None:
            if decided_followup:
                self.followups.stage_reschedule(pipe, psid, nudge_due)
            self.store.stage_save(pipe, state)

        if commit is not None:  # with the replies and the event's completion: one step, no round trip here
            commit.stage(last_writes)
        else:
            await write_together(self.redis, last_writes)  # the turn's last writes: one round trip

    async def to_person(self, event: MessagingEvent, now: int, reason: str) -> None:
        """The shopper asked for a person: say one will answer, then hand the thread to the Page Inbox."""
        base = job_base(event.dedupe_key)
        try:
            told = [Reply(payloads.text(self.settings.handover_text))]
        except PayloadError as exc:  # HANDOVER_TEXT over 2000 characters: hand over all the same
            log.warning("HANDOVER_TEXT cannot be sent (%s); the thread is passed without it", exc)
            told = []
        await self.turns.enqueue(told, base, psid=event.psid)
        await self.handover.keep(event)
        if told:
            await self.conversations.add(event.psid, "bot", self.settings.handover_text, now)
        await self.handover.to_person(event.psid, reason, base, now)
        await self.followups.cancel(event.psid)

    async def open_turn(self, psid: str) -> TurnOpening:
        """What every chat turn reads first, in one round trip (:mod:`bot.batched_reads`)."""
        def queue(pipe: Any) -> tuple[Staged[State], Staged[ShopperConsent], Staged[int], Staged[ShopperRows],
                                      Staged[int] | None]:
            return (self.store.stage_load(pipe, psid),
                    self.consent.stage_consent(pipe, psid, self.settings.optin_topic),
                    self.takeover.stage_paused_until(pipe, psid), self.facts.stage_rows(pipe, psid),
                    self.clock.stage_now(pipe))

        async def known() -> None:  # after a NOSCRIPT: the staged scripts run once by themselves
            await self.clock.now_ms()
            await self.facts.learn()

        (state, consent, paused_until, rows, now), replies = await run_batch(self.redis, queue, known)
        return TurnOpening(state.value(replies), consent.value(replies), paused_until.value(replies),
                           rows.value(replies), now.value(replies) if now else await self.clock.now_ms())

    async def consent_again(self, psid: str, c: ShopperConsent) -> ShopperConsent:
        """A shopper who told us to stop, still holding an active token, asks for reminders: they are back.
        ``c``: their consent as the turn read it. Returns their consent as it stands after."""
        sub = c.subscription
        if c.opted_out and sub is not None and sub.status == "active":
            await self.consent.opt_in(psid, sub.topic, sub.token, path=sub.path, timezone=sub.timezone,
                                      at_ms=sub.optin_ms)
            return await self.consent.consent(psid, self.settings.optin_topic)
        return c

    async def fallback(self, state: State, psid: str, now: int, consent: ShopperConsent | None = None,
                       rows: ShopperRows | None = None) -> list[Reply]:
        """No intent: flag the conversation for a person and answer, once per quiet period."""
        quiet_ms = int(self.settings.fallback_quiet_hours * 3_600_000)
        if not await self.needs_human.flag(psid, now, quiet_ms) or not self.turns.actions.has(FALLBACK):
            return []
        return await self.turns.run(state, FALLBACK, "chat", now_ms=now, consent=consent, rows=rows)


registry = HandlerRegistry()


@registry.on("message", "postback", "referral")
async def dialogue_turn(event: MessagingEvent, dialogue: Dialogue) -> None:
    await dialogue.on_chat(event)


@registry.on("comment")
async def comment_keyword(event: CommentEvent, dialogue: Dialogue) -> None:
    await answer_comment(dialogue, event)


@registry.on("marketing_optin", "otn_optin")
async def optin_confirmation(event: MarketingOptinEvent | OtnOptinEvent, dialogue: Dialogue) -> None:
    await confirm_optin(dialogue, event)


@registry.on("echo")
async def human_echo(event: EchoEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_echo(event)


@registry.on("standby")
async def standby(event: StandbyEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_standby(event)


@registry.on("handover")
async def handover(event: HandoverEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_handover(event)
