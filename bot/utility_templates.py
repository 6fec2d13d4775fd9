"""The Page's utility message templates: what the host needs, what Meta holds, and their review status.

Utility messages (messenger-platform.md §3.3, §9) go out only from a template Meta approved. A
plugin says which templates it needs (:class:`TemplateSpec`: a name, a body with named
``{{parameters}}`` and an example of each); :func:`sync_templates` lists the Page's templates
(``GET /{page-id}/message_templates``), creates the missing ones (``POST``, approved "within
seconds") and records each one's id and status in Redis (:class:`TemplateStore`, ``keys.utility_templates``).
The ``message_template_status_update`` webhook then keeps a status current (:func:`remember_template_status`).

The send worker reads the status of the template a utility job needs (``bot.send_facts``): a
template that is not ``APPROVED`` (or was never synced) skips the job with ``template_not_approved``
before any call (``bot.policy``). The request shapes are [U]: ``bot.graph.utility``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from .events import TemplateStatusEvent
from .graph import GraphClient
from .graph.utility import APPROVED, LANGUAGE, TemplateState, placeholders, template_create_body
from .handlers import HandlerRegistry
from .keys import Keys

__all__ = ["APPROVED", "LANGUAGE", "TemplateSpec", "TemplateState", "TemplateStore", "sync_templates"]

registry = HandlerRegistry()


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template the host needs: its name, its body with ``{{named}}`` parameters and an example of each."""

    name: str
    body: str
    examples: dict[str, str] = field(default_factory=dict)
    language: str = LANGUAGE

    @property
    def params(self) -> list[str]:
        return placeholders(self.body)

    def create_body(self) -> dict[str, Any]:
        return template_create_body(self.name, self.language, self.body, self.examples)


class TemplateStore:
    """The templates' ids and statuses in one Redis hash, by name."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.utility_templates

    async def put(self, states: Iterable[TemplateState]) -> None:
        mapping = {s.name: json.dumps({"id": s.id, "status": s.status, "language": s.language}) for s in states}
        if mapping:
            await self._redis.hset(self._key, mapping=mapping)  # type: ignore[arg-type]

    async def all(self) -> list[TemplateState]:
        stored = await self._redis.hgetall(self._key)
        states = [_state(name, raw) for name, raw in stored.items()]
        return sorted((s for s in states if s is not None), key=lambda s: s.name)

    async def statuses(self, names: Sequence[str]) -> dict[str, str]:
        """Each name's status ('' when the template was never synced)."""
        if not names:
            return {}
        rows = await self._redis.hmget(self._key, list(names))
        found = {}
        for name, raw in zip(names, rows):
            state = _state(name, raw) if raw is not None else None
            found[name] = state.status if state is not None else ""
        return found


def _state(name: bytes | str, raw: bytes | str) -> TemplateState | None:
    try:
        data = json.loads(raw)
        return TemplateState(name.decode() if isinstance(name, bytes) else name, str(data["id"]),
                             str(data["status"]), str(data.get("language") or LANGUAGE))
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync found and did."""

    existing: list[TemplateState]
    created: list[TemplateState]

    def as_json(self) -> dict[str, Any]:
        return {"existing": [s.as_json() for s in self.existing], "created": [s.as_json() for s in self.created],
                "approved": all(s.approved for s in self.existing + self.created)}


async def sync_templates(graph: GraphClient, store: TemplateStore, page_id: str,
                         specs: Sequence[TemplateSpec]) -> SyncReport:
    """Make sure the Page holds every template of ``specs``: list, create the missing ones, record all.

    Idempotent: a second sync creates nothing. A Graph error (no permission, a refused body) is
    raised as the :class:`bot.graph.GraphError` it is; what was recorded before stays recorded."""
    held = {(t.name, t.language): t for t in await graph.list_message_templates(page_id)}
    existing: list[TemplateState] = []
    created: list[TemplateState] = []
    for spec in specs:
        found = held.get((spec.name, spec.language))
        if found is not None:
            existing.append(found)
            continue
        made = await graph.create_message_template(page_id, spec.create_body())
        await store.put([made])
        created.append(made)
    await store.put(existing)
    return SyncReport(existing, created)


@registry.on("template_status")
async def remember_template_status(event: TemplateStatusEvent, redis: Redis, keys: Keys) -> None:
    """Meta reviewed a template (``message_template_status_update``): its status is recorded by name."""
    await TemplateStore(redis, keys).put([TemplateState(event.name, event.template_id, event.status,
                                                        event.language or LANGUAGE)])
