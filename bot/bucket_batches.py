"""The send limits' script calls: the takes asked for in one event-loop turn go to Redis as one batch.

Speed (target 20,000 decisions/s): a batch is still one EVALSHA of ``buckets.lua`` per take (a
NOSCRIPT answer reloads the script and runs those again), packed here on the limiter's own
connections, with the numbers in one argument and the reply in one string, under one deadline per
batch: redis-py's per-argument packing and per-reply timeout cost more than Redis spends on the script.

A Redis restart leaves these connections stale: a batch that meets a dead connection is sent once
more on a fresh one, for the takes that are safe to repeat (see ``Batcher._flush``). What a take
means is :mod:`bot.buckets`'.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError

from .clock import LUA_NOW
from .errors import StorageUnavailable
from .scripts import register_script
from .storage import connections_for

MAX_IN_FLIGHT = 2  # batches on the wire at once, one connection each, per SendLimits
SCRIPT = LUA_NOW + Path(__file__).with_name("buckets.lua").read_text()

NUM_KEYS = 6
Argv = tuple[bytes, ...]  # KEYS (6), then b"t", b"gap:per_day:tz:interval:burst:max_wait:budget" and the route
Pending = tuple[Argv, "asyncio.Future[bytes]", bool]  # the take, its caller's future, whether safe to repeat


def unavailable(exc: BaseException) -> StorageUnavailable:
    """The error a caller of the send limits gets for a failed Redis call (the cause kept)."""
    error = StorageUnavailable(f"send limits: Redis failed ({type(exc).__name__})")
    error.__cause__ = exc
    return error


class Batcher:
    """Sends the takes asked for in one event-loop turn as one batch of EVALSHAs.

    Its connections have the client's options but no per-reply timeout: one deadline
    (the client's socket timeout) covers a whole batch. They are made at the first take, on the
    node that owns the Page's slot when Redis is a cluster (``slot_key`` is one of the Page's keys).
    """

    def __init__(self, redis: Redis, slot_key: str, on_orphan: Callable[[Argv, bytes], None]) -> None:
        self.script = register_script(redis, SCRIPT)
        self._redis = redis
        self._slot_key = slot_key
        self._on_orphan = on_orphan
        self._deadline = 5.0
        self._conns: list[AbstractConnection] = []
        self._idle: list[AbstractConnection] = []
        self._pending: list[Pending] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._scheduled = False

    def submit(self, argv: Argv, repeatable: bool = False) -> asyncio.Future[bytes]:
        """Queue a take for the next batch; ``repeatable``: running it twice counts nothing twice."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()
        self._pending.append((argv, fut, repeatable))
        if not self._conns:
            self._make_connections()
        if not self._scheduled and self._idle:
            self._scheduled = True
            loop.call_soon(self._start)
        return fut

    def _make_connections(self) -> None:
        pool = connections_for(self._redis, self._slot_key)
        self._deadline = pool.connection_kwargs.get("socket_timeout") or 5.0
        options = {**pool.connection_kwargs, "socket_timeout": None}
        self._conns = [pool.connection_class(**options) for _ in range(MAX_IN_FLIGHT)]
        self._idle = list(self._conns)

    def _start(self) -> None:
        self._scheduled = False
        if self._pending and self._idle:
            batch, self._pending = self._pending, []
            task = asyncio.get_running_loop().create_task(self._flush(self._idle.pop(), batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, conn: AbstractConnection, batch: list[Pending]) -> None:
        try:
            try:
                replies = await self._run(conn, [argv for argv, _, _ in batch])
            except (RedisConnectionError, ConnectionError) as exc:
                # A held connection goes stale when Redis restarts: the batch went down a dead socket and
                # never reached the new server. Retried once, on a fresh connection (_exchange dropped this
                # one), but only the takes that are safe to repeat whatever happened: a send job's take is
                # idempotent on Redis (the first one wrote ``taken = route@time`` on the job's record, and a
                # repeat for that route returns that take and counts nothing again), and a take of the Page
                # rate alone spends a rate slot, time rather than a count. A take that counts a day or a
                # token for no job may have run before the connection broke, so it fails instead.
                for _, fut, repeatable in batch:
                    if not repeatable and not fut.done():
                        fut.set_exception(unavailable(exc))
                batch = [pending for pending in batch if pending[2]]
                if not batch:
                    return
                replies = await self._run(conn, [argv for argv, _, _ in batch])
        except (RedisError, OSError) as exc:  # OSError: the batch deadline (TimeoutError) or the socket
            for _, fut, _ in batch:
                if not fut.done():
                    fut.set_exception(unavailable(exc))
        else:
            for (argv, fut, _), reply in zip(batch, replies):
                if not fut.done():
                    fut.set_result(reply)
                elif reply[:1] == b"0":  # allowed, but its caller was cancelled: nothing will be sent
                    self._on_orphan(argv, reply)
        finally:
            self._idle.append(conn)
            if self._pending and not self._scheduled:
                self._start()

    async def _run(self, conn: AbstractConnection, argvs: list[Argv]) -> list[bytes]:
        replies = await self._send(conn, argvs)
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:  # Redis restarted or SCRIPT FLUSH: none of those ran, so load and run them again
            sha = (await self._exchange(conn, conn.pack_command("SCRIPT", "LOAD", SCRIPT), 1))[0]
            self.script.sha = sha.decode() if isinstance(sha, bytes) else str(sha)
            for i, reply in zip(missing, await self._send(conn, [argvs[i] for i in missing])):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _send(self, conn: AbstractConnection, argvs: list[Argv]) -> list[Any]:
        head = b"\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n%d\r\n" % (self.script.sha.encode(), NUM_KEYS)
        packed = [
            b"*%d%s%s" % (len(argv) + 3, head, b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in argv]))
            for argv in argvs
        ]
        return await self._exchange(conn, packed, len(packed))

    async def _exchange(self, conn: AbstractConnection, chunks: list[bytes], count: int) -> list[Any]:
        """Write the packed commands and read ``count`` replies, all under one deadline."""
        replies: list[Any] = []
        try:
            async with asyncio.timeout(self._deadline):
                await conn.send_packed_command(chunks)
                for _ in range(count):
                    try:
                        replies.append(await conn.read_response())
                    except ResponseError as exc:  # an error reply is read whole: the stream stays in step
                        replies.append(exc)
        except BaseException:
            await conn.disconnect(nowait=True)  # replies may be half read: start afresh next time
            raise
        return replies

    async def aclose(self) -> None:
        """Let the batches in flight, and those started behind them, finish; then close the connections.

        A batch ending starts the next one for the takes queued meanwhile (a cancelled rate-gate booking's
        take stays queued): waiting only for the batches in flight at the call let that next one reconnect
        a connection after it was closed, left open for the garbage collector. A take after this makes
        the connections again; the next ``aclose`` closes them.
        """
        while self._flushing or (self._pending and self._idle):
            if not self._flushing:
                self._start()  # queued behind a batch that ended: the batch that would have run them
            await asyncio.gather(*self._flushing, return_exceptions=True)
        for conn in self._conns:
            await conn.disconnect()
