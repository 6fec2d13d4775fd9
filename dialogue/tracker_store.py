"""Per-shopper dialogue state in Redis, in rasa's ``TrackerState`` shape.

One JSON string per shopper (``DialogueKeys.tracker``): ``sender_id``, ``slots``,
``latest_message``, a bounded ``events`` history, ``paused``, ``followup_action``,
``active_loop``, ``latest_action_name`` — what :meth:`rasa_sdk.Tracker.from_dict`
reads — plus two fields of ours: ``last_action_ms`` (the shopper's last qualifying
action, which opens the 24-hour window) and ``handled`` (dedupe keys of the last
events applied, so a handler retried after saving does not record a turn twice).

State is loaded and saved inside the per-shopper handler, which the runtime runs one
at a time per shopper across processes, so no lock is needed here.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.events import ActionExecuted, BotUttered, UserUttered
from redis.asyncio import Redis

from bot.batched_reads import Staged, stage
from bot.keys import Keys

from .keys import DialogueKeys

State = dict[str, Any]

MAX_EVENTS = 40  # history kept per shopper; older events are dropped
MAX_HANDLED = 16
TRACKER_TTL = 90 * 24 * 3600  # a shopper silent for 90 days starts afresh
INPUT_CHANNEL = "facebook"


def new_state(psid: str) -> State:
    """An empty tracker for a shopper the bot has not talked to."""
    return {
        "sender_id": psid, "slots": {}, "latest_message": {}, "events": [], "paused": False,
        "followup_action": None, "active_loop": {}, "latest_action_name": None,
        "latest_input_channel": INPUT_CHANNEL, "last_action_ms": 0, "handled": [],
    }


class TrackerStore:
    """Loads and saves :data:`State` records of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)

    async def load(self, psid: str) -> State:
        return _state_of(psid, await self._redis.get(self._keys.tracker(psid)))

    def stage_load(self, pipe: Any, psid: str) -> Staged[State]:
        """The shopper's tracker, read in the caller's pipeline (:mod:`bot.batched_reads`)."""
        return stage(pipe, lambda: pipe.get(self._keys.tracker(psid)), lambda replies: _state_of(psid, replies[0]))

    async def save(self, state: State) -> None:
        await self._redis.set(*self._saved(state), ex=TRACKER_TTL)

    def stage_save(self, pipe: Any, state: State) -> None:
        """Save the tracker in the caller's pipeline (written with the turn's other last writes)."""
        pipe.set(*self._saved(state), ex=TRACKER_TTL)

    def _saved(self, state: State) -> tuple[str, str]:
        state["events"] = state["events"][-MAX_EVENTS:]
        state["handled"] = state["handled"][-MAX_HANDLED:]
        return self._keys.tracker(state["sender_id"]), json.dumps(state, separators=(",", ":"), ensure_ascii=False,
                                                                 default=str)


def _state_of(psid: str, raw: Any) -> State:
    if not raw:
        return new_state(psid)
    state: State = {**new_state(psid), **json.loads(raw)}
    return state


def record_user(state: State, *, text: str | None, intent: str, confidence: float, metadata: dict[str, Any],
                at_ms: int, qualifying: bool = True) -> None:
    """Append the shopper's turn (rasa ``user`` event) and make it the latest message."""
    parse = {"text": text or "", "intent": {"name": intent, "confidence": confidence},
             "intent_ranking": [{"name": intent, "confidence": confidence}], "entities": [],
             "metadata": metadata}
    state["latest_message"] = parse
    state["events"].append(UserUttered(text, parse, timestamp=at_ms / 1000, input_channel=INPUT_CHANNEL))
    if qualifying:
        state["last_action_ms"] = max(int(state.get("last_action_ms") or 0), at_ms)


def record_action(state: State, name: str, at_ms: int) -> None:
    state["latest_action_name"] = name
    state["events"].append(ActionExecuted(name, timestamp=at_ms / 1000))


def record_bot(state: State, message: dict[str, Any], at_ms: int) -> None:
    state["events"].append(BotUttered(message.get("text"), data=message, timestamp=at_ms / 1000))


def apply_events(state: State, events: list[dict[str, Any]]) -> list[str]:
    """Apply the events an action returned; returns the names of follow-up actions to run.

    Applied: ``slot``, ``reset_slots``, ``restart``, ``followup``, ``active_loop``,
    ``rewind`` (drops the last user turn). ``pause``/``resume`` are the engine's (a
    time-limited human takeover, never a silence without end). Every event joins the history.
    """
    followups: list[str] = []
    for event in events:
        kind = event.get("event")
        if kind == "slot" and isinstance(event.get("name"), str):
            state["slots"][event["name"]] = event.get("value")
        elif kind == "reset_slots":
            state["slots"] = {}
        elif kind == "restart":
            state.update({k: v for k, v in new_state(state["sender_id"]).items()
                          if k not in ("last_action_ms", "handled")})
            continue
        elif kind == "followup" and isinstance(event.get("name"), str):
            followups.append(event["name"])
        elif kind == "active_loop":
            state["active_loop"] = {"name": event.get("name")} if event.get("name") else {}
        elif kind == "rewind":
            for i in range(len(state["events"]) - 1, -1, -1):
                if state["events"][i].get("event") == "user":
                    del state["events"][i]
                    break
            continue
        state["events"].append(event)
    return followups


def already_handled(state: State, dedupe_key: str) -> bool:
    return dedupe_key in state["handled"]


def mark_handled(state: State, dedupe_key: str) -> None:
    state["handled"].append(dedupe_key)
