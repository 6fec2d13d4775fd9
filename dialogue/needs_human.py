"""Conversations that need a person: the bot had no answer, so the Page inbox should reply.

A message with no intent gets the fallback answer (``FALLBACK_TEXT``) and its shopper is
flagged here, at most once per shopper per ``FALLBACK_QUIET_HOURS``, never while a human
has the thread (the engine checks :class:`~dialogue.handover.HumanTakeover` first).
Two sorted sets (:attr:`dialogue.keys.DialogueKeys.needs_human`, :attr:`~dialogue.keys.DialogueKeys.fallback_answered`)
and one script, so the answer-or-not decision and the flag are one atomic step even when
two workers handle two of the shopper's messages.

A human replying from the Page inbox (or from the admin API, :mod:`dialogue.agent_desk`) resolves
the flag (:meth:`NeedsHuman.resolve`); a shopper asking for a person is flagged too
(:meth:`NeedsHuman.mark`, :mod:`dialogue.handover_turns`). The admin API lists and resolves them
(``GET /api/needs-human``, ``DELETE /api/needs-human/{psid}``).
"""

from __future__ import annotations

from typing import cast

from aiohttp import web
from redis.asyncio import Redis

from bot.admin import AdminApi, not_found
from bot.keys import Keys
from bot.pages import page_runtime
from bot.replies import text
from bot.scripts import register_script

from .keys import DialogueKeys

__all__ = ["NeedsHuman", "api"]

# KEYS: fallback_answered, needs_human. ARGV: psid, now_ms, quiet_ms.
# 1: answer and flag; 0: answered within the quiet period, say nothing.
_FLAG = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(ARGV[2]) - tonumber(ARGV[3])))
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if last and tonumber(ARGV[2]) - tonumber(last) < tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
return 1
"""
MAX_LIST = 1000


class NeedsHuman:
    """The flags of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = DialogueKeys.of(keys)
        self._flag = register_script(redis, _FLAG)

    async def flag(self, psid: str, now_ms: int, quiet_ms: int) -> bool:
        """Flag the shopper unless they got a fallback answer in the last ``quiet_ms``; True: answer them."""
        keys = [self._keys.fallback_answered, self._keys.needs_human]
        return bool(await self._flag(keys=keys, args=[psid, now_ms, max(0, quiet_ms)]))

    async def mark(self, psid: str, now_ms: int) -> None:
        """Flag the shopper for a person (they asked for one); an earlier flag keeps its time."""
        await self._redis.zadd(self._keys.needs_human, {psid: now_ms}, nx=True)

    async def waiting(self, limit: int = 100) -> list[tuple[str, int]]:
        """``(psid, since_ms)``, longest waiting first."""
        found = cast(list[tuple[bytes, float]], await self._redis.zrange(self._keys.needs_human, 0, limit - 1,
                                                                          withscores=True))
        return [(text(p), int(ms)) for p, ms in found]

    async def count(self) -> int:
        """How many conversations wait for a person."""
        return int(await self._redis.zcard(self._keys.needs_human))

    async def since(self, psid: str) -> int | None:
        ms = await self._redis.zscore(self._keys.needs_human, psid)
        return None if ms is None else int(ms)

    async def resolve(self, psid: str) -> bool:
        """A person took the conversation; True if it was flagged."""
        return bool(await self._redis.zrem(self._keys.needs_human, psid))


api = AdminApi()

WAITING = {"type": "object", "properties": {
    "count": {"type": "integer"},
    "conversations": {"type": "array", "items": {"type": "object", "properties": {
        "psid": {"type": "string"}, "since_ms": {"type": "integer"}}}}}}


@api.route("GET", "/api/needs-human", "Conversations waiting for a person (the bot had no answer), oldest first",
           response=WAITING,
           query=(("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": 100}, False),))
async def list_waiting(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "100")
    runtime = page_runtime(request)
    store = NeedsHuman(runtime.redis, runtime.keys)
    waiting = await store.waiting(int(raw))
    total = await store.count()
    return web.json_response({"count": int(total),
                              "conversations": [{"psid": p, "since_ms": ms} for p, ms in waiting]})


@api.route("DELETE", "/api/needs-human/{psid}", "Mark a conversation as taken by a person",
           response={"type": "object", "properties": {"psid": {"type": "string"}}},
           params={"psid": {"pattern": "^[A-Za-z0-9_-]{1,64}$"}})
async def resolve_waiting(request: web.Request) -> web.Response:
    psid = request.match_info["psid"]
    runtime = page_runtime(request)
    if not await NeedsHuman(runtime.redis, runtime.keys).resolve(psid):
        raise not_found(f"conversation {psid} waiting for a person")
    return web.json_response({"psid": psid})
