"""A bounded Redis connection pool whose common case costs nothing, over connections that pack in C.

redis-py's ``BlockingConnectionPool`` bounds the connections and makes a command wait for a free
one instead of failing with "Too many connections" (what a burst of webhooks needs). But it pays
for that on every command, free connection or not: an ``asyncio.Condition`` taken on the way in
and out, a timeout context, a ``wait_for``, and release events and metrics we do not use — about a
tenth of a worker's CPU under load (py-spy, issue 10). :class:`BoundedPool` keeps the bound and the
wait (up to ``timeout``, then ``ConnectionError("No connection available.")``, as before) and does
the rest without awaiting: asyncio runs one coroutine at a time, so taking a connection from the
list, or making one below the bound, is atomic as it is. Only a command that finds every connection
busy waits, in line (first come, first served).

Its connections pack each command with hiredis (already our reply parser): redis-py's asyncio
connection packs in Python (its sync one uses hiredis), 5-8 % of a worker's CPU. The bytes are the
same (``tests/test_bot/test_redis_pool.py`` compares them); what hiredis cannot pack (None, a bool) is
the ``DataError`` redis-py raises, and a lone surrogate the same ``UnicodeEncodeError``.

Their ``socket_timeout`` is kept by the pool's watchdog rather than by redis-py's timer per call (a
task per write, a timer per reply: ~10 % of a worker's CPU, issue 10): see :class:`_Watched`.

It is redis-py's ``ConnectionPool`` otherwise (the same connections, ``ensure_connection``,
``disconnect``, ``reset``); redis-py is pinned (``constraints.txt``) and ``tests/test_bot/test_redis_pool.py``
pins the behaviour this relies on.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any

import hiredis
from redis.asyncio.connection import AbstractConnection, Connection, ConnectionPool, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _HiredisPacking:
    """``pack_command`` by ``hiredis.pack_command`` (what redis-py's sync connections do)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):  # "CLIENT SETNAME": the words are arguments of their own
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass  # a bytearray or a memoryview (as bytes, below), or what no one can pack
        packed = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
        try:
            return [hiredis.pack_command(packed)]  # type: ignore[arg-type]  # its stub wants a 1-tuple
        except TypeError as exc:
            raise DataError(f"{exc} (got {[type(a).__name__ for a in args]})") from None


class _Watched:
    """``socket_timeout`` kept by the pool's watchdog (:meth:`BoundedPool._watch`), not by a timer per call.

    redis-py bounds each write with ``asyncio.wait_for`` (a task per command) and each read with a timeout
    context (a timer made and cancelled per reply): about a tenth of a worker's CPU under load (py-spy,
    issue 10). These connections only note when they started to wait for Redis; the watchdog, a few times
    per ``socket_timeout``, aborts one that has waited longer, and its call raises redis-py's
    ``TimeoutError`` as before, a little later (at most a quarter of the timeout more).
    """

    socket_timeout: float | None
    _writer: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watched_timeout = self.socket_timeout
        self.socket_timeout = None  # redis-py's own per-call timers off (connecting keeps its own timeout)
        self.waiting_since = 0.0  # loop time the current write or read began; 0: not waiting for Redis
        self.timed_out = False

    def _waiting(self) -> None:
        if not self.waiting_since:  # a new wait (a pipeline's replies: each read is one)
            self.waiting_since = asyncio.get_running_loop().time()
            self.timed_out = False

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._waiting()
        await super().send_packed_command(command, check_health)  # type: ignore[misc]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        self._waiting()
        try:
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]
        except RedisConnectionError as exc:
            if self.timed_out:
                raise RedisTimeoutError(f"Timeout reading from Redis after {self.watched_timeout}s") from exc
            raise
        finally:
            self.waiting_since = 0.0

    def abort_if_stuck(self, now: float) -> None:
        """Abort the connection if it has waited for Redis longer than its timeout (the watchdog's call)."""
        limit = self.watched_timeout
        if not limit or not self.waiting_since or now - self.waiting_since <= limit:
            return
        transport = getattr(self._writer, "transport", None)
        if transport is not None:
            self.timed_out = True
            transport.abort()  # the pending read or drain fails at once; redis-py disconnects it


class PackedConnection(_HiredisPacking, _Watched, Connection):
    """A TCP connection that packs with hiredis, its timeout kept by the pool's watchdog."""


class PackedUnixConnection(_HiredisPacking, _Watched, UnixDomainSocketConnection):
    """A Unix-socket connection (the embedded Redis) that packs with hiredis, its timeout kept by the watchdog."""


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: PackedConnection, UnixDomainSocketConnection: PackedUnixConnection}


class BoundedPool(ConnectionPool):
    """At most ``max_connections``; a command that finds none free waits up to ``timeout`` seconds."""

    def __init__(self, *, timeout: float = 5.0, connection_class: type[AbstractConnection] = Connection,
                 **kwargs: Any) -> None:
        super().__init__(connection_class=_PACKED.get(connection_class, connection_class), **kwargs)
        self.timeout = timeout
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._watched_loop: asyncio.AbstractEventLoop | None = None  # the loop the watchdog runs on

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> AbstractConnection:
        loop = asyncio.get_running_loop()
        if self._watched_loop is not loop:  # first use, or a pool used again from another loop
            self._watched_loop = loop
            self._watch_later(loop)
        if self._waiters or not self.can_get_connection():  # others wait already: get in line behind them
            await self._wait_for_free()
        connection = self.get_available_connection()
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def _wait_for_free(self) -> None:
        """Wait in line until a connection is free, at most ``timeout`` seconds in all."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        again = False
        while True:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if again:  # woken, but a command that did not wait took the connection first: at the front
                self._waiters.appendleft(waiter)
            else:
                self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                raise RedisConnectionError("No connection available.") from None
            except BaseException:  # cancelled: a wake-up meant for us goes to the next in line
                if waiter.done() and not waiter.cancelled():
                    self._wake_next()
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if self.can_get_connection():
                return
            again = True

    async def release(self, connection: AbstractConnection) -> None:
        self._in_use_connections.discard(connection)
        if connection.should_reconnect():
            await connection.disconnect()
        self._available_connections.append(connection)
        self._wake_next()

    def _watch_later(self, loop: asyncio.AbstractEventLoop) -> None:
        """The watchdog's next look, in a quarter of the timeout (a timer, not a task: nothing to cancel when
        the loop closes, and it holds the pool only weakly)."""
        timeout = self.connection_kwargs.get("socket_timeout")
        if not timeout:
            return
        loop.call_later(max(0.05, timeout / 4), _watch, weakref.ref(self), loop)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for connection in list(self._in_use_connections):
            if isinstance(connection, _Watched):
                connection.abort_if_stuck(now)
        self._watch_later(loop)

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _watch(pool: weakref.ref[BoundedPool], loop: asyncio.AbstractEventLoop) -> None:
    alive = pool()
    if alive is not None and alive._watched_loop is loop and not loop.is_closed():  # one watchdog, on its loop
        alive._watch(loop)
