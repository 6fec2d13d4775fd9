"""Control of the sandbox itself: the clock, its settings, the sent log and a reset."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .context import SANDBOX, read_json
from .errors import BadRequest, answer_for
from .faults import parse_fault
from .ledger import CONFIG_DEFAULTS

SENT_PAGE_DEFAULT = 1000
SENT_PAGE_MAX = 10000


async def show_clock(request: web.Request) -> web.Response:
    clock = request.app[SANDBOX].clock
    return web.json_response({"now_ms": await clock.now_ms(), "offset_ms": await clock.offset_ms()})


async def advance_clock(request: web.Request) -> web.Response:
    """``{advance_seconds}``: moves now forward for the sandbox and the bot alike."""
    clock = request.app[SANDBOX].clock
    seconds = (await read_json(request)).get("advance_seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise BadRequest("advance_seconds must be a number >= 0 (the clock only moves forward)")
    offset = await clock.advance(seconds)
    return web.json_response({"now_ms": await clock.now_ms(), "offset_ms": offset})


async def show_config(request: web.Request) -> web.Response:
    return web.json_response(await request.app[SANDBOX].ledger.config())


async def configure(request: web.Request) -> web.Response:
    """``{page_rate_limit?: int (0 = none), receipts?, read_receipts?, echoes?, sent_log?: bool,
    echo_delay_ms?: int, webhook_retry_seconds?: int, page_utility_messaging?: bool, fault?}``.

    ``fault`` is a test hook (``faults.parse_fault``): the next ``calls`` sends answer with an error or
    a usage header.
    """
    body = await read_json(request)
    sandbox = request.app[SANDBOX]
    fault = parse_fault(body.pop("fault")) if "fault" in body else None
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name not in CONFIG_DEFAULTS:
            raise BadRequest(f"unknown setting {name!r}; known: {', '.join(CONFIG_DEFAULTS)}")
        default = CONFIG_DEFAULTS[name]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        if not isinstance(default, bool) and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise BadRequest(f"{name} must be a whole number >= 0")
        changes[name] = value
    if fault is not None:
        await sandbox.faults.arm(*fault)
    return web.json_response(await sandbox.ledger.configure(changes))


async def sent(request: web.Request) -> web.Response:
    """``?since=<n>&limit=<m>``: Graph calls from position n on, each with the answer given."""
    try:
        since = int(request.query.get("since", 0))
        limit = int(request.query.get("limit", SENT_PAGE_DEFAULT))
    except ValueError:
        raise BadRequest("since and limit must be whole numbers") from None
    if since < 0 or not 0 < limit <= SENT_PAGE_MAX:
        raise BadRequest(f"since must be >= 0 and limit 1..{SENT_PAGE_MAX}")
    records, total = await request.app[SANDBOX].ledger.sent(since, limit)
    items = []
    for seq, record in enumerate(records, start=since):
        status, answer = answer_for(record)
        items.append({"seq": seq, "at_ms": record["at_ms"], "method": record["method"], "path": record["path"],
                      "api": record.get("api"), "request": record.get("request"), "status": status,
                      "answer": answer})
    return web.json_response({"items": items, "next": since + len(items), "total": total})


async def reset(request: web.Request) -> web.Response:
    """Forget every shopper, token, post, message and log of this Page (the clock stays)."""
    return web.json_response({"deleted": await request.app[SANDBOX].state.reset()})
