"""The one way salebell runs Lua: :func:`register_script` gives a :class:`Script` for a client.

A script runs by EVALSHA; where the server does not know it yet (a fresh or restarted server,
``SCRIPT FLUSH``, a node of a Redis Cluster that never ran it), by EVAL, which caches it there
for the next EVALSHA. Never ``SCRIPT LOAD`` (what redis-py's ``register_script`` falls back to):
on Redis Cluster that goes to every master, so with one master down every Page's first call of a
script would fail, the Pages on the masters still up included.

Every key a script is given comes in KEYS, and the client routes the call by them: all of one
Page's keys share its hash tag (:mod:`bot.keys`), so they are in one slot. A few scripts also
build keys of the same Page from a prefix given in ARGV (a sale found by a score, a campaign's
stats row): the same hash tag keeps them in the slot the call was routed to.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

Arg = str | bytes | int | float


class Script:
    """A Lua script of one client, called as ``await script(keys=[...], args=[...])``."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self.script = source
        self.sha = _sha(source)

    async def __call__(self, keys: Sequence[Arg] = (), args: Sequence[Arg] = ()) -> Any:
        try:
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self._redis.eval(self.script, len(keys), *keys, *args)


@functools.lru_cache(maxsize=256)
def _sha(source: str) -> str:
    """A source's SHA1, hashed once per process (handlers build their scripts per call)."""
    return hashlib.sha1(source.encode()).hexdigest()


def register_script(redis: Redis, source: str) -> Script:
    """The script ``source`` for ``redis`` (EVALSHA, EVAL where unknown; see the module docstring)."""
    return Script(redis, source)
