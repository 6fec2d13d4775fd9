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
- comment: the opt-in keyword (within ``COMMENT_OPTIN_SCOPE``) gets one private reply, unless the
  comment claims a product of a live sale (:data:`bot.ports.CLAIM_COMMENTS`: the claims answer it);
- opt-ins (after the ledger recorded them): a confirmation, only inside the window;
- echo / standby / handover: human takeover (:mod:`dialogue.handover_turns`); while a person
  has the conversation, what the shopper writes is kept for them (:mod:`dialogue.conversation_log`);
- a shopper asking for a person (:mod:`dialogue.person_request`), or the fallback with
  ``HANDOVER_ON_FALLBACK``: the thread goes to the Page Inbox (:mod:`dialogue.thread_control`).

Send job ids are ``dlg:<event dedupe key>:<n>``, so a redelivered or retried event
never queues a message twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.batched_reads import Staged, run_batch, write_together
from bot.channels import INSTAGRAM, instagram_shopper
from bot.consent import ShopperConsent
from bot.events import (
    CommentEvent,
    EchoEvent,
    HandoverEvent,
    MarketingOptinEvent,
    MessageEvent,
    MessagingEvent,
    OtnOptinEvent,
    PostbackEvent,
    ReferralEvent,
    StandbyEvent,
)
from bot.graph import payloads
from bot.graph.payloads import PayloadError
from bot.handlers import HandlerRegistry
from bot.outbox import SendJob
from bot.policy import in_window
from bot.ports import CLAIM_COMMENTS, LINKED_POSTS

from .actions import ActionServerError, domain_of, load_intents, make_runner
from .comment_gate import CommentReplyGate
from .confirm import ASKED_SLOT, CONFIRM, answer_to_question
from .conversation_log import ConversationLog
from .facts import FactReader, ShopperRows
from .followups import FollowUps
from .handover import HumanTakeover
from .handover_turns import Handover
from .kit import FACT_SLOTS
from .messages import Reply, to_replies
from .needs_human import NeedsHuman
from .nlu import Spotter
from .nlu.spotter import model_setting
from .person_request import asks_for_person
from .stories import story_source
from .thread_control import ThreadControl
from .tracker_store import (
    State,
    TrackerStore,
    already_handled,
    apply_events,
    mark_handled,
    new_state,
    record_action,
    record_bot,
    record_user,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

OPT_IN, OPT_OUT, NONE = "opt_in_reminders", "opt_out", "none"
OPTIN_CONFIRMED, OTN_CONFIRMED, FOLLOWUP = "action_optin_confirmed", "action_otn_confirmed", "action_followup"
FALLBACK = "action_default_fallback"
STORY_MENTION = "action_story_mention"  # an Instagram story mention with nothing else said (intents/story_mention.py)
GREETING = "greeting"
MAX_CHAIN = 3  # FollowupAction hops per turn


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
        self.intents = {i.name: i for i in load_intents(s.intents_packages)}
        self.spotter = Spotter(list(self.intents.values()), optin_keywords=s.optin_keywords,
                               model=model_setting(s.nlu_weights))
        self.actions = make_runner(s.intents_packages, list(self.intents.values()), s.action_server_url,
                                   s.remote_actions)
        self.action_of = {i.name: i.action().name() for i in self.intents.values() if i.action is not None}
        self.payloads = {p: i.name for i in self.intents.values() for p in i.payloads}
        self.domain = domain_of(list(self.intents.values()),
                                [*self.action_of.values(), OPTIN_CONFIRMED, OTN_CONFIRMED, FOLLOWUP, FALLBACK,
                                 STORY_MENTION],
                                [*FACT_SLOTS, ASKED_SLOT])
        self.store = TrackerStore(self.redis, self.keys)
        self.services = runtime.services
        self.facts = FactReader(self.redis, self.keys, s, self.clock, self.consent, runtime.services)
        self.takeover = HumanTakeover(self.redis, self.keys, s, self.outbox)
        self.followups = FollowUps(self.redis, self.keys, self.fire_followup)
        self.needs_human = NeedsHuman(self.redis, self.keys)
        self.comment_gate = CommentReplyGate(self.redis, self.keys, self.outbox)
        self.threads = ThreadControl(self.redis, self.keys, self.outbox)
        self.conversations = ConversationLog(self.redis, self.keys)
        self.handover = Handover(self.takeover, self.threads, self.conversations, self.needs_human, self.consent,
                                 self.followups, lambda m: self.understand(m)[0] in (OPT_OUT, CONFIRM),
                                 self.clock.now_ms)

    async def close(self) -> None:
        await self.actions.close()

    # -- what a shopper meant ---------------------------------------------------
    def intent_of_payload(self, payload: str | None) -> str | None:
        if not payload:
            return None
        if payload in self.payloads:
            return self.payloads[payload]
        name = payload[1:] if payload.startswith("/") else ""
        return name if name in self.intents else None

    def understand(self, event: MessagingEvent) -> tuple[str, float, str | None, dict[str, Any]]:
        """(intent, confidence, text, metadata) of a message, postback or referral."""
        if isinstance(event, MessageEvent):
            by_payload = self.intent_of_payload(event.quick_reply_payload)
            if by_payload:
                return by_payload, 1.0, event.text, {"source": "quick_reply", "payload": event.quick_reply_payload}
            spotted = self.spotter.spot(event.text or "")
            source = story_source(event)
            if spotted.confirm and CONFIRM in self.intents:  # a likely stop, not a certain one: ask
                return CONFIRM, spotted.confidence, event.text, {**source, "spotted": spotted.intent}
            return spotted.intent, spotted.confidence, event.text, source
        if isinstance(event, PostbackEvent):
            name = self.intent_of_payload(event.payload)
            return name or NONE, 1.0 if name else 0.0, event.title, {"source": "postback", "payload": event.payload}
        ref = event.referral.ref if isinstance(event, ReferralEvent) and event.referral else None
        name = self.intent_of_payload(ref)
        return name or NONE, 1.0 if name else 0.0, None, {"source": "referral", "payload": ref}

    # -- handlers -----------------------------------------------------------------
    async def on_chat(self, event: MessagingEvent) -> None:
        psid = event.psid
        intent, confidence, text, metadata = self.understand(event)
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
        decided_followup, followup_due = False, None  # the nudge stays as it is unless the turn decides it
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
                    replies = await self.run_action(state, name, "chat", now_ms=now, consent=consent,
                                                    rows=opening.rows)
                except ActionServerError:  # a shop's remote action with no local version (logged there)
                    replies = await self.fallback(state, psid, now, consent, opening.rows)
            elif intent == NONE and isinstance(event, MessageEvent) and event.story_mention \
                    and self.actions.has(STORY_MENTION):  # mentioned in the shopper's story: thanks, not the fallback
                replies = await self.run_action(state, STORY_MENTION, "chat", now_ms=now, consent=consent,
                                                rows=opening.rows)
            elif intent == NONE and isinstance(event, MessageEvent):
                replies = await self.fallback(state, psid, now, consent, opening.rows)
                fell_back = bool(replies)
            await self.enqueue(replies, job_base(event.dedupe_key), psid=psid, explicit=intent == OPT_IN)
            if fell_back:  # flagged for a person: what they asked is kept for them
                await self.handover.keep(event)
                if self.settings.handover_on_fallback:
                    await self.handover.to_person(psid, "fallback", job_base(event.dedupe_key), now)
            decided_followup, followup_due = True, self.followup_due(now, consent)
        mark_handled(state, event.dedupe_key)
        def last_writes(pipe: Any) -> None:  # the turn's last writes: one round trip
            if decided_followup:
                self.followups.stage_reschedule(pipe, psid, followup_due)
            self.store.stage_save(pipe, state)

        await write_together(self.redis, last_writes)

    async def on_comment(self, event: CommentEvent) -> None:
        own = (event.page_id, instagram_shopper(self.settings.instagram_account_id))  # the Page's own comments
        if event.verb != "add" or not event.message or event.from_id in own:
            return
        claims = self.services.find(CLAIM_COMMENTS)
        if claims is not None and await claims.is_claim(event.post_id, event.message):
            return  # "SOLD 12" under a live sale: the claims plugin answers it (its one private reply)
        spotted = self.spotter.spot(event.message)
        if spotted.intent != OPT_IN or OPT_IN not in self.action_of:
            return
        if self.settings.comment_optin_scope == "linked" and \
                not await self.services.get(LINKED_POSTS).is_linked(event.post_id):
            return
        # Not the shopper's tracker: comments are ordered per commenter, apart from their chat.
        state = new_state(event.from_id)
        record_user(state, text=event.message, intent=OPT_IN, confidence=spotted.confidence, at_ms=event.timestamp,
                    metadata={"source": "comment", "comment_id": event.comment_id, "post_id": event.post_id},
                    qualifying=False)
        replies = [r for r in await self.run_action(state, self.action_of[OPT_IN], "comment")
                   if r.purpose == "response"]
        if not replies:
            return
        if len(replies) > 1:
            log.warning("a comment allows one private reply; %d extra messages dropped", len(replies) - 1)
        job = SendJob(id=f"{job_base(event.dedupe_key)}:0", purpose="private_reply", message=replies[0].message,
                      comment_id=event.comment_id, comment_ms=event.timestamp, channel=event.channel,
                      live_media=event.post_id if event.live and event.channel == INSTAGRAM else "")
        if await self.comment_gate.admit(job, post_id=event.post_id, psid=event.from_id,
                                         now_ms=await self.clock.now_ms()):
            await self.outbox.enqueue(job)

    async def on_optin(self, event: MarketingOptinEvent | OtnOptinEvent) -> None:
        psid = event.psid
        if isinstance(event, MarketingOptinEvent):
            if event.status == "STOP_NOTIFICATIONS":
                return
            await self.followups.cancel(psid)
        action = OPTIN_CONFIRMED if isinstance(event, MarketingOptinEvent) else OTN_CONFIRMED
        state = await self.store.load(psid)
        if already_handled(state, event.dedupe_key) or not self.actions.has(action):
            return
        record_user(state, text=None, intent=event.kind, confidence=1.0, at_ms=event.timestamp,
                    metadata={"source": "optin", "status": getattr(event, "status", None)}, qualifying=False)
        now = await self.clock.now_ms()
        window = await self.window.last_action_ms(psid)
        # Opting in does not open the window: outside it there is nothing to say (no queued noise).
        if in_window(window, now) and not await self.takeover.is_paused(psid, now):
            replies = await self.run_action(state, action, "optin", now_ms=now)
            await self.enqueue(replies, job_base(event.dedupe_key), psid=psid)
        mark_handled(state, event.dedupe_key)
        await self.store.save(state)

    async def to_person(self, event: MessagingEvent, now: int, reason: str) -> None:
        """The shopper asked for a person: say one will answer, then hand the thread to the Page Inbox."""
        base = job_base(event.dedupe_key)
        try:
            told = [Reply(payloads.text(self.settings.handover_text))]
        except PayloadError as exc:  # HANDOVER_TEXT over 2000 characters: hand over all the same
            log.warning("HANDOVER_TEXT cannot be sent (%s); the thread is passed without it", exc)
            told = []
        await self.enqueue(told, base, psid=event.psid)
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

        (state, consent, paused_until, rows, now), replies = await run_batch(self.redis, queue, self.clock.now_ms)
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
        if not await self.needs_human.flag(psid, now, quiet_ms) or not self.actions.has(FALLBACK):
            return []
        return await self.run_action(state, FALLBACK, "chat", now_ms=now, consent=consent, rows=rows)

    # -- follow-up ------------------------------------------------------------------
    def followup_due(self, now: int, consent: ShopperConsent) -> int | None:
        """Unsubscribed (and not opted out): the nudge is due ``FOLLOWUP_HOURS`` after this turn;
        else None: no nudge (any scheduled one is cancelled)."""
        done = consent.opted_out or consent.unreachable or consent.subscription is not None
        if done or self.settings.followup_hours <= 0:
            return None
        return now + self.settings.followup_hours * 3_600_000

    async def fire_followup(self, psid: str, due_ms: int) -> None:
        """The scheduled nudge: one opt-in request, only if still unsubscribed, in the window, and allowed."""
        facts = await self.facts.read(psid, "followup")
        card_waits = facts["followup_offer"] == "reminders" and facts["optin_next_ms"]  # the card: once a week
        if facts["subscribed"] or facts["stopped"] or facts["opted_out"] or not facts["in_window"] \
                or card_waits or not self.actions.has(FOLLOWUP):
            return
        if await self.takeover.is_paused(psid, facts["now_ms"]):
            return
        state = await self.store.load(psid)  # read only: the shopper's own handler owns writes
        replies = await self.run_action(state, FOLLOWUP, "followup", facts=facts, now_ms=facts["now_ms"])
        await self.enqueue(replies, f"fu:{psid}:{due_ms}", psid=psid)

    # -- running actions ------------------------------------------------------------
    async def run_action(self, state: State, name: str, channel: str, *, facts: dict[str, Any] | None = None,
                         now_ms: int | None = None, consent: ShopperConsent | None = None,
                         rows: ShopperRows | None = None) -> list[Reply]:
        """Run the action (and any FollowupAction it returns) on the tracker; returns its messages.

        ``now_ms``: the turn's "now", read once per turn (each read of the clock is a Redis round trip)."""
        at = now_ms if now_ms is not None else await self.clock.now_ms()
        state["slots"].update(facts or await self.facts.read(state["sender_id"], channel, at, consent, rows))
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
                await self.takeover.pause(psid, at)
            elif event.get("event") == "resume":
                await self.takeover.resume(psid)

    async def enqueue(self, replies: list[Reply], base: str, *, psid: str, explicit: bool = False) -> None:
        jobs = [SendJob(id=f"{base}:{n}", purpose=r.purpose, message=r.message, psid=psid, title=r.title,
                        explicit=explicit and r.purpose == "optin_request", after=f"{base}:{n - 1}" if n else "")
                for n, r in enumerate(replies)]
        if jobs:
            await self.outbox.enqueue_many(jobs)


def job_base(dedupe_key: str) -> str:
    """A send-job id prefix from an event's dedupe key ('|' is reserved by the outbox)."""
    return "dlg:" + dedupe_key.replace("|", "/")


registry = HandlerRegistry()


@registry.on("message", "postback", "referral")
async def dialogue_turn(event: MessagingEvent, dialogue: Dialogue) -> None:
    await dialogue.on_chat(event)


@registry.on("comment")
async def comment_keyword(event: CommentEvent, dialogue: Dialogue) -> None:
    await dialogue.on_comment(event)


@registry.on("marketing_optin", "otn_optin")
async def optin_confirmation(event: MarketingOptinEvent | OtnOptinEvent, dialogue: Dialogue) -> None:
    await dialogue.on_optin(event)


@registry.on("echo")
async def human_echo(event: EchoEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_echo(event)


@registry.on("standby")
async def standby(event: StandbyEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_standby(event)


@registry.on("handover")
async def handover(event: HandoverEvent, dialogue: Dialogue) -> None:
    await dialogue.handover.on_handover(event)
