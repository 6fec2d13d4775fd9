"""The handler registry: what runs for each kind of event.

Later layers (dialogue, live sales) plug in here. A handler is an async
function that declares, by parameter name, only what it needs::

    registry = HandlerRegistry()

    @registry.on("message", "postback")
    async def remember(event, redis, clock): ...

The names a handler may ask for are the keys of the context the consumer
passes (``event``, ``redis``, ``keys``, ``settings``, ``clock`` and whatever a
layer adds, e.g. ``outbox``); asking for an unknown name fails at registration
time of the first dispatch, with the name in the message.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .events import EVENT_KINDS, Event

Handler = Callable[..., Awaitable[Any]]
ANY = "*"


@dataclass(frozen=True, slots=True)
class _Bound:
    fn: Handler
    wants: tuple[str, ...]


class HandlerRegistry:
    """Maps event kinds to handlers, in registration order."""

    def __init__(self) -> None:
        self._by_kind: dict[str, list[_Bound]] = defaultdict(list)

    def on(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Decorator: run the function for events of these kinds (``"*"`` for every kind)."""

        def register(fn: Handler) -> Handler:
            self.add(fn, *kinds)
            return fn

        return register

    def add(self, fn: Handler, *kinds: str) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"handler {fn.__qualname__} must be an async function")
        unknown = [k for k in kinds if k != ANY and k not in EVENT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"handler {fn.__qualname__}: unknown event kinds {unknown or kinds}; known: {EVENT_KINDS}")
        bound = _Bound(fn, tuple(inspect.signature(fn).parameters))
        for kind in kinds:
            self._by_kind[kind].append(bound)

    def include(self, other: HandlerRegistry) -> None:
        """Add every handler of another registry (a layer's own registry)."""
        for kind, bounds in other._by_kind.items():
            self._by_kind[kind].extend(bounds)

    def handlers_for(self, kind: str) -> Iterable[_Bound]:
        return [*self._by_kind.get(kind, ()), *self._by_kind.get(ANY, ())]

    async def dispatch(self, event: Event, context: Mapping[str, Any]) -> int:
        """Run every handler for the event's kind; returns how many ran."""
        ran = 0
        for bound in self.handlers_for(event.kind):
            kwargs = {}
            for name in bound.wants:
                if name == "event":
                    kwargs[name] = event
                elif name in context:
                    kwargs[name] = context[name]
                else:
                    raise TypeError(f"handler {bound.fn.__qualname__} asks for {name!r}, not in {sorted(context)}")
            await bound.fn(**kwargs)
            ran += 1
        return ran
