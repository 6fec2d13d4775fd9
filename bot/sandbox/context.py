"""What every sandbox handler needs, kept on the app under one typed key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..clock import Clock
from ..json_input import NotJson, load_json
from ..keys import Keys
from ..settings import Settings
from .errors import BadRequest, NotFound
from .faults import Faults
from .ledger import Ledger
from .message_templates import TemplateBook
from .state import SandboxState
from .webhooks import WebhookSender


@dataclass
class Sandbox:
    """The sandbox's parts: settings, the one clock, Redis records and the webhook sender."""

    settings: Settings
    keys: Keys
    clock: Clock
    ledger: Ledger
    state: SandboxState
    faults: Faults
    templates: TemplateBook
    sender: WebhookSender | None = field(default=None, repr=False)  # set while the app runs

    @property
    def page_id(self) -> str:
        return self.settings.page_id

    @property
    def app_id(self) -> int:
        """Our app's id, as a thread's owner is stored (0 when the settings name none)."""
        return int(self.settings.app_id or 0)

    @property
    def webhooks(self) -> WebhookSender:
        if self.sender is None:
            raise RuntimeError("the sandbox app has not started (its cleanup_ctx opens the HTTP session)")
        return self.sender


SANDBOX = web.AppKey("sandbox", Sandbox)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = load_json(raw)
    except NotJson as exc:
        raise BadRequest(f"the body must be JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} is required (a non-empty string)")
    return value


def event_time(body: dict[str, Any], now_ms: int) -> int:
    """The event's ``timestamp`` (ms, to place it in the past), or now."""
    value = body.get("timestamp")
    if value is None:
        return now_ms
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadRequest("timestamp must be epoch milliseconds (a positive integer)")
    if value > now_ms + 1000:
        raise BadRequest("timestamp must not be in the future")
    return value


async def shopper_of(request: web.Request) -> tuple[Sandbox, str, dict[str, str]]:
    """The sandbox, the ``{psid}`` of the path and the shopper's record (404 if unknown)."""
    sandbox = request.app[SANDBOX]
    psid = request.match_info["psid"]
    shopper = await sandbox.state.shopper(psid)
    if shopper is None:
        raise NotFound(f"no shopper {psid}")
    return sandbox, psid, shopper
