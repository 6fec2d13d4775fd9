"""A batch's plain reads as one script call: one command to pack and one reply to parse, not one each.

:func:`bot.batched_reads.run_batch` runs the reads several stores stage (``stage_<what>(pipe, …)``) in one
round trip. On a pipeline each staged read is still a command of its own on the client: packed, its reply
parsed and passed through redis-py's callback, ~25 µs apiece, eleven of them in a chat turn's opening
(py-spy, issue 10). :class:`BundledReads` stands in for the pipeline while the stores stage: the plain reads
they queue (``GET``, ``HGET``, ``HGETALL``, ``HMGET``, ``SISMEMBER``, ``HEXISTS``) are gathered into one
call of :data:`BUNDLE`, which runs them in order inside Redis and answers all of them in one reply; a
staged script (``EVALSHA``) goes to the pipeline as before. :meth:`BundledReads.replies` gives each
staged read the reply the pipeline would have given it (redis-py's callbacks: a hash as a dict, a
membership as a bool), in the order they were staged, so the stores' builders are unchanged.

Reads only: the script refuses any other command. Every key is in KEYS (one Page's, one slot); on Redis
Cluster, whose pipelines take no script, the batch stays a plain pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from .scripts import Arg, Script, register_script

BUNDLE = """
local reads = {GET = true, HGET = true, HGETALL = true, HMGET = true, SISMEMBER = true, HEXISTS = true}
local out, at = {}, 1
for i = 1, #KEYS do
  local command, count = ARGV[at], tonumber(ARGV[at + 1])
  if not reads[command] then return redis.error_reply('bundle: ' .. command .. ' is not a read it runs') end
  out[i] = redis.call(command, KEYS[i], unpack(ARGV, at + 2, at + 1 + count))
  at = at + 2 + count
end
return out
"""


def _as_dict(reply: Any) -> dict[Any, Any]:
    return dict(zip(reply[::2], reply[1::2], strict=True)) if reply else {}


def _as_list(reply: Any) -> list[Any]:
    return [None if r is False else r for r in reply] if reply else []


def _as_bool(reply: Any) -> bool:
    return bool(reply)


class BundledReads:
    """The pipeline as the stores see it while they stage; their plain reads go into one :data:`BUNDLE` call."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self._slots: list[tuple[bool, int, Callable[[Any], Any] | None]] = []  # (bundled?, index, conversion)
        self._keys: list[Arg] = []
        self._args: list[Arg] = []
        self._direct = 0  # commands sent to the pipeline itself (scripts), before the bundle

    def __len__(self) -> int:
        return len(self._slots)

    def _read(self, command: str, key: Arg, *args: Arg, convert: Callable[[Any], Any] | None = None) -> None:
        self._slots.append((True, len(self._keys), convert))
        self._keys.append(key)
        self._args += [command, len(args), *args]

    def get(self, key: Arg) -> None:
        self._read("GET", key)

    def hget(self, key: Arg, field: Arg) -> None:
        self._read("HGET", key, field)

    def hgetall(self, key: Arg) -> None:
        self._read("HGETALL", key, convert=_as_dict)

    def hmget(self, key: Arg, keys: Any, *args: Arg) -> None:  # keys: a list of fields, or the first
        fields = list(keys) if isinstance(keys, (list, tuple)) else [keys]
        self._read("HMGET", key, *fields, *args, convert=_as_list)

    def sismember(self, key: Arg, value: Arg) -> None:
        self._read("SISMEMBER", key, value, convert=_as_bool)

    def hexists(self, key: Arg, field: Arg) -> None:
        self._read("HEXISTS", key, field, convert=_as_bool)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Arg) -> None:
        """A staged script: queued on the pipeline itself, ahead of the bundle."""
        self._pipe.evalsha(sha, numkeys, *keys_and_args)
        self._slots.append((False, self._direct, None))
        self._direct += 1

    def finish(self, script: Script) -> None:
        """Queue the bundle (after the scripts) once every store has staged."""
        if self._keys:
            self._pipe.evalsha(script.sha, len(self._keys), *self._keys, *self._args)

    def replies(self, raw: Sequence[Any]) -> list[Any]:
        """Each staged read's reply, in the order staged, as the pipeline would have given it."""
        bundle = raw[self._direct] if self._keys else []
        out: list[Any] = []
        for bundled, index, convert in self._slots:
            reply = bundle[index] if bundled else raw[index]
            out.append(convert(reply) if convert is not None else reply)
        return out


def bundle_script(redis: Redis) -> Script:
    return register_script(redis, BUNDLE)
