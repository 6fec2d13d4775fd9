"""One Lua script's calls asked for in one event-loop turn go to Redis in one pipeline.

For a script many callers run at once, each on its own: the sandbox's send script (:mod:`bot.sandbox.ledger`),
which the fan-out bench calls once per notification (issue 10). Awaited alone, each EVALSHA cost the
sandbox a third of its CPU in redis-py's per-command path (take a connection, write, wait, parse, give it
back; py-spy, ``bench/fanout.py --profile``). Calls that arrive together (aiohttp starts every request it
read in one turn) now share one pipeline: one write, one read, each call still its own script, so each is
decided and applied on its own, atomically, in the order asked.

A script the server does not know (restarted, ``SCRIPT FLUSH``) answers NOSCRIPT without running; those
calls run again, in order, through :class:`~bot.scripts.Script` (EVAL, which caches it). Any other failure
of the pipeline reaches every caller of the batch, as it would have reached each alone. Redis Cluster
pipelines refuse EVALSHA: there each call runs on its own, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from .batched_reads import is_cluster_pipeline
from .scripts import Arg, Script

Call = tuple[Sequence[Arg], Sequence[Arg], "asyncio.Future[Any]"]  # keys, args, the caller's future


class ScriptBatches:
    """Runs one script for many callers: ``await batches.run(keys, args)``, batched per loop turn."""

    def __init__(self, redis: Redis, script: Script) -> None:
        self._redis = redis
        self._script = script
        self._pending: list[Call] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._cluster: bool | None = None

    async def run(self, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """The script's reply for these keys and args (its errors raised here)."""
        if self._cluster:
            return await self._script(keys=keys, args=args)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._start)
        self._pending.append((keys, args, fut))
        return await fut

    def _start(self) -> None:
        batch, self._pending = self._pending, []
        self._spawn(self._flush(batch))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task held until it ends (the loop keeps only weak references)."""
        task = asyncio.get_running_loop().create_task(work)
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: list[Call]) -> None:
        batch = [call for call in batch if not call[2].done()]  # a caller gone before it ran: not sent
        if not batch:
            return
        try:
            replies = await self._pipeline(batch)
        except Exception as exc:  # noqa: BLE001 - every caller gets what the pipeline raised
            for _, _, fut in batch:
                _settle(fut, exc)
            return
        except BaseException:  # cancelled (the loop shutting down): so are its callers
            for _, _, fut in batch:
                fut.cancel()
            raise
        unknown = [call for call, reply in zip(batch, replies) if isinstance(reply, NoScriptError)]
        if unknown:  # they did not run: run them again, in order, the way that teaches the server
            self._rerun(unknown)
        for (_, _, fut), reply in zip(batch, replies):
            if not isinstance(reply, NoScriptError):
                _settle(fut, reply)

    async def _pipeline(self, batch: list[Call]) -> list[Any]:
        script = self._script
        async with self._redis.pipeline(transaction=False) as pipe:
            if self._cluster is None:
                self._cluster = is_cluster_pipeline(pipe)
            if self._cluster:  # learnt at the first batch: its calls run one by one
                return [await _settled(script(keys=keys, args=args)) for keys, args, _ in batch]
            for keys, args, _ in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))

    def _rerun(self, calls: list[Call]) -> None:
        async def again() -> None:
            for keys, args, fut in calls:
                _settle(fut, await _settled(self._script(keys=keys, args=args)))

        self._spawn(again())


def _settle(fut: asyncio.Future[Any], reply: Any) -> None:
    """Hand ``reply`` (a value, or the exception in its place) to a caller still waiting."""
    if fut.done():
        return
    if isinstance(reply, Exception):
        fut.set_exception(reply)
    else:
        fut.set_result(reply)


async def _settled(call: Any) -> Any:
    """The reply of ``call``, or the exception it raised (as a pipeline's ``raise_on_error=False`` gives)."""
    try:
        return await call
    except Exception as exc:  # noqa: BLE001 - handed to its caller
        return exc
