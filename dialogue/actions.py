"""Running intent actions: rasa-sdk's ``ActionExecutor`` in-process, or a remote rasa action server.

Both take the same rasa action-server request (``next_action``, ``sender_id``,
``tracker`` in ``TrackerState`` shape, ``domain``) and give back the same answer
(``events``, ``responses``), so an action written for one runs on the other.

Actions are found the rasa-sdk way: :meth:`ActionExecutor.register_package` imports
each intents package (``INTENTS_PACKAGES``, built-in ``intents`` first) and registers
every ``Action`` subclass; then each package's own classes are registered again in
package order, so a shop's package that declares an action with a built-in name
replaces the built-in one.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import rasa_sdk
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from bot.errors import SalebellError

from .intent import Intent, discover
from .tracker_store import State

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0


class ActionServerError(SalebellError):
    """The remote action server failed or answered something that is not an action result."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action returned: rasa events to apply and dispatcher messages to send."""

    events: list[dict[str, Any]]
    responses: list[dict[str, Any]]


class ActionRunner(Protocol):
    """Runs one action against a tracker state."""

    def has(self, name: str) -> bool: ...

    async def run(self, name: str, state: State, domain: dict[str, Any]) -> ActionResult: ...

    async def close(self) -> None: ...


def load_intents(packages: Sequence[str]) -> list[Intent]:
    """Every intent of the packages, in order; a later package's intent replaces an earlier one's by name."""
    found: dict[str, Intent] = {}
    for package in packages:
        for intent in discover(package):
            found[intent.name] = intent
    return list(found.values())


def action_call(name: str, state: State, domain: dict[str, Any]) -> dict[str, Any]:
    """The rasa action-server request body."""
    tracker = {k: v for k, v in state.items() if k != "handled"}
    return {"next_action": name, "sender_id": state["sender_id"], "tracker": tracker, "domain": domain,
            "version": rasa_sdk.__version__}


def domain_of(intents: Sequence[Intent], actions: Sequence[str], slots: Sequence[str]) -> dict[str, Any]:
    """A minimal rasa domain: intents, slots and actions (the executor wants one)."""
    return {"version": "3.1", "intents": [i.name for i in intents],
            "slots": {s: {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
                      for s in slots},
            "actions": list(actions), "responses": {}, "session_config": {}}


class LocalActions:
    """Rasa-sdk's executor in this process."""

    def __init__(self, packages: Sequence[str], intents: Sequence[Intent]) -> None:
        self.executor = ActionExecutor()
        chosen: dict[str, type[Action]] = {}  # each action registered once (rasa-sdk logs every registration)
        for intent in intents:
            if intent.action is not None:
                chosen[intent.action().name()] = intent.action
        for package in packages:  # deterministic order: later packages win a shared name
            for cls in _own_actions(package):
                chosen[cls().name()] = cls
        for cls in chosen.values():
            self.executor.register_action(cls)

    def has(self, name: str) -> bool:
        return name in self.executor.actions

    @property
    def names(self) -> list[str]:
        return sorted(self.executor.actions)

    async def run(self, name: str, state: State, domain: dict[str, Any]) -> ActionResult:
        result = await self.executor.run(action_call(name, state, domain))
        if result is None:
            return ActionResult([], [])
        return ActionResult(list(result.events), list(result.responses))

    async def close(self) -> None:
        return None


class RemoteActions:
    """A rasa action server over HTTP (``ACTION_SERVER_URL``, e.g. ``http://actions:5055/webhook``)."""

    def __init__(self, url: str, names: Sequence[str], session: aiohttp.ClientSession | None = None) -> None:
        self._url = url
        self._names = set(names)
        self._session = session
        self._owns_session = session is None

    def has(self, name: str) -> bool:
        return name in self._names

    async def run(self, name: str, state: State, domain: dict[str, Any]) -> ActionResult:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        try:
            async with self._session.post(self._url, json=action_call(name, state, domain)) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ActionServerError(f"action server unreachable for {name}: {type(exc).__name__}") from exc
        if status != 200 or not isinstance(body, dict):
            detail = body.get("error") if isinstance(body, dict) else None
            raise ActionServerError(f"action server answered {status} for {name}: {detail or 'no detail'}")
        return ActionResult(list(body.get("events") or []), list(body.get("responses") or []))

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None


def make_runner(packages: Sequence[str], intents: Sequence[Intent], action_server_url: str) -> ActionRunner:
    """In-process actions, or the remote server when ``ACTION_SERVER_URL`` is set."""
    local = LocalActions(packages, intents)
    if action_server_url:
        log.info("intent actions run on the action server at %s", action_server_url.split("?")[0])
        return RemoteActions(action_server_url, local.names)
    return local


def _own_actions(package: str) -> list[type[Action]]:
    """The concrete Action subclasses defined in the package's own modules, in module order."""
    pkg = importlib.import_module(package)
    modules = [pkg] + [importlib.import_module(info.name)
                       for info in pkgutil.iter_modules(getattr(pkg, "__path__", []), prefix=f"{package}.")]
    found: list[type[Action]] = []
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Action) and value is not Action
                    and value.__module__ == module.__name__ and not inspect.isabstract(value)):
                found.append(value)
    return found
