"""The dialogue layer, a plugin (``SALEBELL_PLUGINS``, on by default): intents, actions, follow-ups.

- ``registry``: handlers for shopper events (:mod:`dialogue.engine`);
- ``api``: ``GET /api/subscribers`` (:mod:`dialogue.ledger_api`), ``GET /api/needs-human``
  and ``DELETE /api/needs-human/{psid}`` (:mod:`dialogue.needs_human`), the conversations a person
  has, their replies and "done" (``/api/conversations``, :mod:`dialogue.conversations_api`);
- ``panels``: the dashboard's Conversations panel (:mod:`dialogue.dashboard`);
- ``setup(runtime)``: builds the process's :class:`~dialogue.engine.Dialogue`
  (``runtime.context["dialogue"]``, its scheduler as ``runtime.context["followups"]``)
  and runs the follow-up scheduler as a background loop;
- CLI: ``salebell profile sync``, ``salebell subscribers`` and ``salebell nlu``;
- ``messenger_profile(settings)``: the profile ``profile sync`` sets, which the sandbox
  applies when it starts, so Get Started works without a sync.

It uses two services another plugin (live sales) provides (:mod:`bot.ports`):
:data:`~bot.ports.NEXT_LIVE_SALE` when there is one (without it, "when is the next live?"
says none is scheduled), and :data:`~bot.ports.LINKED_POSTS`, which it needs with
``COMMENT_OPTIN_SCOPE=linked``: start-up stops if no plugin provides it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.admin import AdminApi
from bot.errors import ConfigError
from bot.plugins import Plugin
from bot.ports import LINKED_POSTS
from bot.services import Service
from bot.settings import Settings

from . import nlu_command as _nlu_command  # noqa: F401 - registers `salebell nlu`
from . import profile as _profile  # (also registers `salebell profile`)
from .conversations_api import api as conversations_api
from .dashboard import panels
from .engine import Dialogue, registry
from .ledger_api import api as ledger_api
from .needs_human import api as needs_human_api

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["Dialogue", "api", "messenger_profile", "panels", "plugin", "registry", "setup"]

log = logging.getLogger(__name__)

api = AdminApi()
api.include(ledger_api)
api.include(needs_human_api)
api.include(conversations_api)


def messenger_profile(settings: Settings) -> dict[str, Any] | None:
    """The Messenger profile this bot needs (None, logged, if the settings make an invalid one)."""
    try:
        return _profile.build_profile(settings)
    except ConfigError as exc:
        log.warning("Messenger profile not built: %s", exc)
        return None


async def setup(runtime: Runtime) -> None:
    """Create the dialogue engine of this process once, and its follow-up loop."""
    if "dialogue" in runtime.context:
        return
    dialogue = Dialogue(runtime)
    runtime.context["dialogue"] = dialogue
    runtime.context["followups"] = dialogue.followups
    runtime.add_background(dialogue.followups.run)
    runtime.add_background(lambda stop: take_back_loop(dialogue, stop))

    async def close_when_stopped(stop: asyncio.Event) -> None:
        await stop.wait()
        await dialogue.close()

    runtime.add_background(close_when_stopped)


TAKE_BACK_SECONDS = 5.0  # how often passed threads whose pause ended are taken back


async def take_back_loop(dialogue: Dialogue, stop: asyncio.Event) -> None:
    """Background loop: take back the threads passed to the Page Inbox once their pause ends."""
    while not stop.is_set():
        try:
            await dialogue.handover.sweep()
        except (RedisError, OSError) as exc:
            log.warning("thread take-back: Redis unavailable (%s); retrying", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=TAKE_BACK_SECONDS)
        except asyncio.TimeoutError:
            pass


def needs(settings: Settings) -> tuple[Service[Any], ...]:
    """``COMMENT_OPTIN_SCOPE=linked`` replies only under linked posts: someone must say which they are."""
    return (LINKED_POSTS,) if settings.comment_optin_scope == "linked" else ()


plugin = Plugin(name="dialogue", registry=registry, api=api, panels=panels, setup=setup,
                messenger_profile=messenger_profile, needs=needs)
