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
import time
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
BUILTIN_PACKAGE = "intents"


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
        self.shop_names = sorted(name for name, cls in chosen.items() if not _is_builtin(cls))

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


class RoutedActions:
    """Some actions on the remote server, the rest in-process; a remote failure falls back to the local one.

    The remote actions are those named in ``REMOTE_ACTIONS``, else every action that is not a built-in
    (not of the ``intents`` package): a shop's own actions. A built-in keeps answering when the
    shop's action server is down. A remote action that fails (unreachable, timeout, not a 200, not an
    action result) runs in-process if this process has it, else :class:`ActionServerError` reaches
    the dialogue, which answers with the fallback message. After a failure the server is asked again
    at most every ``RETRY_SECONDS`` (in between, actions with a local version run locally at once, so
    a hung server does not cost each turn its timeout). An outage is logged once, and its end once.
    """

    RETRY_SECONDS = 5.0

    def __init__(self, local: LocalActions, remote: RemoteActions, remote_names: Sequence[str]) -> None:
        self._local, self._remote = local, remote
        self.remote_names = frozenset(remote_names)
        self._down_until = 0.0  # monotonic; 0: the server answered last time
        self._down = False

    def has(self, name: str) -> bool:
        return name in self.remote_names or self._local.has(name)

    async def run(self, name: str, state: State, domain: dict[str, Any]) -> ActionResult:
        local = self._local.has(name)
        if name not in self.remote_names or (local and time.monotonic() < self._down_until):
            return await self._local.run(name, state, domain)
        try:
            result = await self._remote.run(name, state, domain)
        except ActionServerError as exc:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            if not self._down:
                self._down = True
                log.warning("%s; %s", exc, "running it in-process" if local else "no local version: fallback answer")
            if not local:
                raise
            return await self._local.run(name, state, domain)
        if self._down:
            self._down = False
            log.info("the action server answers again")
        self._down_until = 0.0
        return result

    async def close(self) -> None:
        await self._remote.close()


def make_runner(packages: Sequence[str], intents: Sequence[Intent], action_server_url: str,
                remote_actions: Sequence[str] = ()) -> ActionRunner:
    """In-process actions, or some of them on the remote server when ``ACTION_SERVER_URL`` is set."""
    local = LocalActions(packages, intents)
    if not action_server_url:
        return local
    remote_names = list(remote_actions) or local.shop_names
    log.info("intent actions %s run on the action server at %s", ", ".join(sorted(remote_names)) or "(none)",
             action_server_url.split("?")[0])
    return RoutedActions(local, RemoteActions(action_server_url, remote_names), remote_names)


def _is_builtin(cls: type[Action]) -> bool:
    """True for an action of salebell's own ``intents`` package."""
    return cls.__module__ == BUILTIN_PACKAGE or cls.__module__.startswith(f"{BUILTIN_PACKAGE}.")


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
