"""The HTTP server of ``salebell serve``: bind first, then serve the app with a deadline on every wait.

aiohttp (3.14) closes a connection only when its keep-alive timer fires, armed at
connection and after each response (``RequestHandler._process_keepalive``), and it
waits for a request body for ever. So a client could hold a connection and a handler
open without end (issue 8, finding 10: 500 idle or slowloris connections still open
after 95 s, a body shorter than its Content-Length holding its handler 99 s and more).
Here every connection has three deadlines:

==========  =====================================================  =================
``idle``    no request in progress, none begun (keep-alive)         closed
``head``    a request's line and headers complete, from its 1st     408, then closed
            byte (slowloris)
``body``    a request's body complete, from its handler's start     408, then closed
==========  =====================================================  =================

The socket is bound by :func:`listen` before any start-up work, so a busy port stops
``salebell serve`` before its app (and the runtime in it) starts.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from .app import SafeAccessLogger
from .errors import ConfigError
from .settings import DEFAULT_HTTP_IDLE_TIMEOUT

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0
_HEAD_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class Timeouts:
    """Seconds a connection may wait, for each thing it waits on (see the module docstring)."""

    idle: float = DEFAULT_HTTP_IDLE_TIMEOUT
    head: float = HEAD_TIMEOUT
    body: float = BODY_TIMEOUT


class PortInUse(ConfigError):
    """Another process listens on the port."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} is in use (HOST={host}); set PORT")


def listen(host: str, port: int, *, backlog: int = 128) -> list[socket.socket]:
    """Listening sockets for ``host:port`` (one per address it resolves to); :class:`ConfigError` if not possible."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"HOST={host} does not resolve ({exc.strerror}); set HOST") from None
    sockets: list[socket.socket] = []
    bound: set[tuple[int, Any]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in bound:
                continue
            bound.add((family, address))
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does; a busy port still fails
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                sock.close()
                if family == socket.AF_INET6 and exc.errno == errno.EADDRNOTAVAIL:
                    continue  # IPv6 is off on this host: serve the other addresses (as asyncio does)
                raise
            sockets.append(sock)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; set HOST and PORT") from None
    if not sockets:
        raise ConfigError(f"cannot listen on {host}:{port}: no address of it is available here; set HOST")
    return sockets


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection protocol with the head and body deadlines (the idle one is its keep-alive timer)."""

    __slots__ = ("_head_timeout", "_body_timeout", "_head_deadline")

    def __init__(self, manager: web.Server, *, head_timeout: float, body_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._body_timeout = body_timeout
        self._head_deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_head():  # these bytes began a request whose head is not complete yet
            if self._head_deadline is None and data:
                self._head_deadline = self._loop.call_later(self._head_timeout, self._head_too_slow)
        elif self._head_deadline is not None:  # the head is complete
            self._head_deadline.cancel()
            self._head_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    async def _handle_request(self, request: web.BaseRequest, start_time: float | None,
                              request_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                              ) -> tuple[web.StreamResponse, bool]:
        deadline = None
        if not request.content.is_eof():
            deadline = self._loop.call_later(self._body_timeout, self._body_too_slow, request.content)
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            if deadline is not None:
                deadline.cancel()

    def _awaiting_head(self) -> bool:
        """Waiting for the next request: the state aiohttp's own keep-alive check closes in."""
        return self._waiter is not None and not self._waiter.done()

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._awaiting_head() and self.transport is not None:
            log.info("HTTP connection closed: request head not complete %.0fs after its first byte",
                     self._head_timeout)
            self.transport.write(_HEAD_TIMED_OUT)
            self.force_close()

    def _body_too_slow(self, body: StreamReader) -> None:
        if body.is_eof():
            return
        log.info("HTTP request body not complete %.0fs after its handler started; answering 408", self._body_timeout)
        self.close()  # the rest of the body would be read as a next request: the connection ends after the answer
        body.set_exception(web.HTTPRequestTimeout(text="request body not complete in time"))
        body.feed_eof()  # nothing left to drain: aiohttp's lingering read would meet the error above


class GuardedServer(web.Server):
    """An aiohttp ``Server`` whose connections are :class:`GuardedRequestHandler`."""

    def __init__(self, *args: Any, timeouts: Timeouts, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "keepalive_timeout": timeouts.idle})
        self.timeouts = timeouts

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, head_timeout=self.timeouts.head,
                                     body_timeout=self.timeouts.body, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` serving through a :class:`GuardedServer`.

    It builds that server from the one aiohttp builds (same handler, request factory and
    handler arguments); tests/test_bot/test_server.py pins this against the installed aiohttp.
    """

    def __init__(self, app: web.Application, *, timeouts: Timeouts = Timeouts(), **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._timeouts = timeouts

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts and freezes the app; builds aiohttp's own Server
        return GuardedServer(plain.request_handler, request_factory=plain.request_factory,
                             handler_cancellation=plain.handler_cancellation, loop=plain._loop,
                             timeouts=self._timeouts, **plain._kwargs)


@asynccontextmanager
async def serving(app: web.Application, sockets: list[socket.socket], *, timeouts: Timeouts = Timeouts(),
                  access_log_class: type[AbstractAccessLogger] = SafeAccessLogger,
                  shutdown_timeout: float = SHUTDOWN_TIMEOUT) -> AsyncIterator[GuardedAppRunner]:
    """Start ``app`` (its start-up and cleanup contexts) and serve it on ``sockets`` until the block ends."""
    runner = GuardedAppRunner(app, timeouts=timeouts, access_log_class=access_log_class,
                              shutdown_timeout=shutdown_timeout)
    try:
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        yield runner
    finally:
        await runner.cleanup()
