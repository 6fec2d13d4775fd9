"""After an opt-in, and when a shopper did not opt in: the confirmation and the one follow-up nudge.

- An opt-in (after the ledger recorded it) is confirmed only inside the window: opting in does not
  open it, and outside it there is nothing to say.
- A conversation that ends unsubscribed (and not opted out) schedules one nudge ``FOLLOWUP_HOURS``
  later (:mod:`dialogue.followups`); it fires only if the shopper is still unsubscribed, in the window,
  not held by a person, and the opt-in card may be asked again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.consent import ShopperConsent
from bot.events import MarketingOptinEvent, OtnOptinEvent
from bot.policy import in_window
from bot.settings import Settings

from .action_turns import FOLLOWUP, OPTIN_CONFIRMED, OTN_CONFIRMED, job_base
from .tracker_store import already_handled, mark_handled, record_user

if TYPE_CHECKING:
    from .engine import Dialogue


async def confirm_optin(d: Dialogue, event: MarketingOptinEvent | OtnOptinEvent) -> None:
    psid = event.psid
    if isinstance(event, MarketingOptinEvent):
        if event.status == "STOP_NOTIFICATIONS":
            return
        await d.followups.cancel(psid)
    action = OPTIN_CONFIRMED if isinstance(event, MarketingOptinEvent) else OTN_CONFIRMED
    state = await d.store.load(psid)
    if already_handled(state, event.dedupe_key) or not d.turns.actions.has(action):
        return
    record_user(state, text=None, intent=event.kind, confidence=1.0, at_ms=event.timestamp,
                metadata={"source": "optin", "status": getattr(event, "status", None)}, qualifying=False)
    now = await d.clock.now_ms()
    window = await d.window.last_action_ms(psid)
    if in_window(window, now) and not await d.takeover.is_paused(psid, now):
        replies = await d.turns.run(state, action, "optin", now_ms=now)
        await d.turns.enqueue(replies, job_base(event.dedupe_key), psid=psid)
    mark_handled(state, event.dedupe_key)
    await d.store.save(state)


def followup_due(settings: Settings, now: int, consent: ShopperConsent) -> int | None:
    """Unsubscribed (and not opted out): the nudge is due ``FOLLOWUP_HOURS`` after this turn;
    else None: no nudge (any scheduled one is cancelled)."""
    done = consent.opted_out or consent.unreachable or consent.subscription is not None
    if done or settings.followup_hours <= 0:
        return None
    return now + settings.followup_hours * 3_600_000


async def fire_followup(d: Dialogue, psid: str, due_ms: int) -> None:
    """The scheduled nudge: one opt-in request, only if still unsubscribed, in the window, and allowed."""
    facts = await d.facts.read(psid, "followup")
    card_waits = facts["followup_offer"] == "reminders" and facts["optin_next_ms"]  # the card: once a week
    if facts["subscribed"] or facts["stopped"] or facts["opted_out"] or not facts["in_window"] \
            or card_waits or not d.turns.actions.has(FOLLOWUP):
        return
    if await d.takeover.is_paused(psid, facts["now_ms"]):
        return
    state = await d.store.load(psid)  # read only: the shopper's own handler owns writes
    replies = await d.turns.run(state, FOLLOWUP, "followup", facts=facts, now_ms=facts["now_ms"])
    await d.turns.enqueue(replies, f"fu:{psid}:{due_ms}", psid=psid)
