"""Admin routes for the Page's people: the conversations a person has, their replies, and "done".

- ``GET /api/conversations``: the latest conversations with kept messages or waiting for a person;
- ``GET /api/conversations/{psid}``: what the shopper wrote while a person had the conversation and
  what people answered, oldest first, with the takeover state and how a reply would go now;
- ``POST /api/conversations/{psid}/replies`` ``{text, key?}``: a person's reply through the outbox
  (:mod:`dialogue.agent_desk`: RESPONSE in the window, else HUMAN_AGENT within 7 days when
  ``HUMAN_AGENT_TAG`` is on, else 422 with the reason and nothing queued);
- ``POST /api/conversations/{psid}/done``: the person is finished; the bot answers again and takes
  the thread back from the Page Inbox if it had passed it.

``?page=`` picks the Page as on every admin route.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.admin import AdminApi, field_of, invalid, read_json
from bot.graph.payloads import PayloadError
from bot.pages import page_runtime

from .agent_desk import AgentDesk, ReplyRefused

api = AdminApi()

PSID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_LIST = 200

_ENTRY = {"type": "object", "properties": {
    "from": {"type": "string", "enum": ["shopper", "agent", "page_inbox", "bot"]}, "text": {"type": "string"},
    "at_ms": {"type": "integer"}, "standby": {"type": "boolean"}, "job_id": {"type": "string"},
    "route": {"type": "string"}}}
_TAKEOVER = {"type": "object", "properties": {
    "paused": {"type": "boolean"}, "paused_until_ms": {"type": "integer", "nullable": True},
    "thread_owner": {"type": "string", "enum": ["bot", "page_inbox"]},
    "needs_human_since_ms": {"type": "integer", "nullable": True}}}
CONVERSATION = {"type": "object", "properties": {
    "psid": {"type": "string"}, "messages": {"type": "array", "items": _ENTRY}, "takeover": _TAKEOVER,
    "window": {"type": "object", "properties": {
        "last_message_ms": {"type": "integer", "nullable": True}, "open": {"type": "boolean"},
        "human_agent_until_ms": {"type": "integer", "nullable": True}}},
    "reply": {"type": "object", "properties": {
        "allowed": {"type": "boolean"}, "route": {"type": "string"}, "reason": {"type": "string"},
        "why": {"type": "string"}}}}}
CONVERSATIONS = {"type": "object", "properties": {"conversations": {"type": "array", "items": {
    "type": "object", "properties": {"psid": {"type": "string"}, "latest_ms": {"type": "integer"},
                                     "paused": {"type": "boolean"}, "thread_owner": {"type": "string"},
                                     "needs_human_since_ms": {"type": "integer", "nullable": True}}}}}}
REPLY_IN = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string", "minLength": 1, "maxLength": 2000},
    "key": {"type": "string", "pattern": KEY.pattern,
            "description": "idempotency key: the same key queues the reply once"}}}
PATH = {"psid": {"pattern": PSID.pattern, "description": "the shopper's page-scoped id"}}
REPLY_OUT = {"type": "object", "properties": {
    "job_id": {"type": "string"}, "route": {"type": "string", "enum": ["RESPONSE", "HUMAN_AGENT"]},
    "queued": {"type": "boolean"}, "paused_until_ms": {"type": "integer"}}}
DONE_OUT = {"type": "object", "properties": {"psid": {"type": "string"}, "thread_taken_back": {"type": "boolean"}}}


def _desk(request: web.Request) -> AgentDesk:
    return AgentDesk(page_runtime(request))


def _psid(request: web.Request) -> str:
    return request.match_info["psid"]  # checked against PATH before the handler runs


@api.route("GET", "/api/conversations", "Conversations a person has or should take, latest first",
           response=CONVERSATIONS,
           query=(("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": 50}, False),))
async def list_conversations(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "50")
    desk = _desk(request)
    now = await desk.runtime.clock.now_ms()
    rows = []
    for psid, at in await desk.listed(int(raw)):
        rows.append({"psid": psid, "latest_ms": at, "paused": await desk.takeover.is_paused(psid, now),
                     "thread_owner": await desk.threads.owner(psid),
                     "needs_human_since_ms": await desk.needs_human.since(psid)})
    return web.json_response({"conversations": rows})


@api.route("GET", "/api/conversations/{psid}", "A conversation as a person sees it: kept messages, replies, state",
           response=CONVERSATION, params=PATH)
async def show_conversation(request: web.Request) -> web.Response:
    return web.json_response(await _desk(request).view(_psid(request)))


@api.route("POST", "/api/conversations/{psid}/replies", "A person's reply to the shopper (through the outbox)",
           body=REPLY_IN, status=202, response=REPLY_OUT, params=PATH)
async def reply(request: web.Request) -> web.Response:
    psid = _psid(request)
    body = await read_json(request)
    text = field_of(body, "text", str)
    key = field_of(body, "key", str, required=False, default="")
    try:
        queued = await _desk(request).reply(psid, text, key=key)
    except ReplyRefused as exc:
        raise invalid(f"not sent ({exc.reason}): {exc}") from None
    except PayloadError as exc:
        raise invalid(f"text: {exc}") from None
    return web.json_response({"job_id": queued.job_id, "route": queued.route, "queued": queued.queued,
                              "paused_until_ms": queued.paused_until_ms}, status=202)


@api.route("POST", "/api/conversations/{psid}/done", "The person is done: the bot answers again, takes the thread back",
           response=DONE_OUT, params=PATH)
async def done(request: web.Request) -> web.Response:
    psid = _psid(request)
    return web.json_response({"psid": psid, "thread_taken_back": await _desk(request).done(psid)})
