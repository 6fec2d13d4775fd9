"""A production-like Graph API in front of the sandbox, with faults injected on demand.

The bot in production mode points ``GRAPH_API_URL`` here. Every ``/{version}/...`` call is
forwarded to the sandbox's ``/sandbox/graph/{version}/...`` (which applies Meta's rules and
records the message), unless a fault says otherwise. Faults are set over a control API on a
second port, which keeps answering while the Graph port refuses connections:

=========================================  ==============================================
``POST /refuse {seconds}``                 stop listening and close every open connection
                                           (a network outage: connections are refused);
                                           listening again after ``seconds`` (0: until clear)
``POST /delay {seconds, before?,           hold each call ``before`` seconds on its way to
alternate?, for_seconds?}``                Meta (a caller that goes away meanwhile never
                                           reaches it), then answer ``seconds`` after Meta;
                                           ``alternate``: one call held on its way, the next
                                           on the way back, and so on
``POST /error {code?, subcode?, status,    answer ``calls`` calls (or for ``for_seconds``)
usage_minutes?, calls?, for_seconds?}``    with a Meta error; ``usage_minutes`` adds an
                                           X-Business-Use-Case-Usage header with that
                                           ``estimated_time_to_regain_access``
``POST /drop {calls?, for_seconds?}``      forward (Meta gets the message), then drop the
                                           connection without an answer
``POST /clear``                            no faults, counts and sends forgotten; listening
                                           again
``GET /stats``                             counts per outcome, the faults in force
``GET /sends``                             every send call answered since the last clear, in
                                           order: its recipient, message and the status it
                                           was answered with (Meta's, or the fault's)
=========================================  ==============================================

Faults apply to ``POST .../messages`` only (sends); reads and profile calls always pass.
Run it as ``python -m tests.faults.graph_standin --port P --control-port C --upstream URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger("graph-standin")

FORWARDED_HEADERS = ("Authorization", "Content-Type")
ANSWER_HEADERS = ("Content-Type", "X-Business-Use-Case-Usage", "X-App-Usage", "x-fb-trace-id")


@dataclass
class Fault:
    """One injected behaviour, in force for ``calls`` more calls and/or until ``until`` (monotonic)."""

    kind: str
    calls: int | None = None
    until: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def live(self, now: float) -> bool:
        return (self.calls is None or self.calls > 0) and (self.until is None or now < self.until)

    def take(self) -> None:
        if self.calls is not None:
            self.calls -= 1


def meta_error(params: dict[str, Any]) -> web.Response:
    """A Graph error answer shaped as Meta sends it (messenger-platform.md §5)."""
    error: dict[str, Any] = {"message": params.get("message") or "(#4) Application request limit reached",
                             "type": "OAuthException", "fbtrace_id": "A" + secrets.token_hex(10)}
    if params.get("code") is not None:
        error["code"] = int(params["code"])
    if params.get("subcode") is not None:
        error["error_subcode"] = int(params["subcode"])
    headers = {}
    if params.get("usage_minutes") is not None:
        usage = {"type": "pages", "call_count": 100, "total_cputime": 100, "total_time": 100,
                 "estimated_time_to_regain_access": params["usage_minutes"]}
        headers["X-Business-Use-Case-Usage"] = json.dumps({params.get("page_id") or "0": [usage]})
    return web.json_response({"error": error}, status=int(params.get("status") or 400), headers=headers)


class StandIn:
    """The Graph port (forwarding, faults) and the control port."""

    def __init__(self, upstream: str, host: str, port: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.host = host
        self.port = port
        self.faults: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.sends: list[dict[str, Any]] = []  # each send call answered (GET /sends), what the bot asked
        self._forwarding: set[asyncio.Future[tuple[int, dict[str, str], bytes]]] = set()
        self.runner: web.AppRunner | None = None
        self.site: web.TCPSite | None = None
        self.session: aiohttp.ClientSession | None = None
        self._relisten: asyncio.TimerHandle | None = None

    # -- the Graph side ---------------------------------------------------------
    def graph_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def listen(self) -> None:
        if self.site is None and self.runner is not None:
            self.site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
            await self.site.start()

    async def refuse(self, seconds: float) -> None:
        """Stop accepting and close the open connections (each after the call it is answering)."""
        if self._relisten is not None:
            self._relisten.cancel()
            self._relisten = None
        if self.site is not None:
            site, self.site = self.site, None
            await site.stop()
        if self.runner is not None and self.runner.server is not None:
            for conn in self.runner.server.connections:
                # an idle kept-alive connection goes at once (the caller's next call must be refused, not
                # hang); one answering a call closes once that answer is out
                if getattr(conn, "_request_in_progress", False):
                    conn.close()
                else:
                    conn.force_close()
        self.counts["refuse_windows"] += 1
        if seconds > 0:
            loop = asyncio.get_running_loop()
            self._relisten = loop.call_later(seconds, lambda: asyncio.ensure_future(self.listen()))

    def fault(self, kind: str) -> Fault | None:
        now = time.monotonic()
        for f in self.faults:
            if f.kind == kind and f.live(now):
                return f
        return None

    async def forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        is_send = request.method == "POST" and request.path.endswith("/messages")
        index = 0
        if is_send:
            self.counts["received"] += 1
            index = self.counts["received"]
            error = self.fault("error")
            if error is not None:
                error.take()
                self.counts["error"] += 1
                answer = meta_error(error.params)
                self._record(body, answer.status)
                return answer
        delay = self.fault("delay") if is_send else None
        hold_back = True
        if delay is not None:
            on_the_way = bool(delay.params.get("before"))
            if delay.params.get("alternate"):
                on_the_way, hold_back = index % 2 == 1, index % 2 == 0
            if on_the_way:
                await asyncio.sleep(float(delay.params["before"]))  # cancelled if the caller dies meanwhile
        # once on its way, a call reaches Meta and is recorded even if its caller dies meanwhile
        forwarding = asyncio.ensure_future(self._forward(request, body, is_send))
        self._forwarding.add(forwarding)
        forwarding.add_done_callback(self._forwarding.discard)
        status, headers, answer = await asyncio.shield(forwarding)
        if is_send:
            drop = self.fault("drop")
            if drop is not None:
                drop.take()
                self.counts["dropped"] += 1
                if request.transport is not None:
                    request.transport.abort()  # the message reached Meta; its answer never comes back
                raise asyncio.CancelledError
            if delay is not None:
                delay.take()
                self.counts["delayed"] += 1
                if hold_back:
                    await asyncio.sleep(float(delay.params.get("seconds", 1.0)))
        return web.Response(status=status, body=answer, headers=headers)

    async def _forward(self, request: web.Request, body: bytes, is_send: bool) -> tuple[int, dict[str, str], bytes]:
        status, headers, answer = await self._upstream(request, body)
        self.counts["forwarded"] += 1
        if is_send:
            self._record(body, status)  # it reached Meta (whatever becomes of its answer)
        return status, headers, answer

    def _record(self, body: bytes, status: int) -> None:
        try:
            call = json.loads(body)
        except ValueError:
            call = {}
        call = call if isinstance(call, dict) else {}
        self.sends.append({"recipient": call.get("recipient"), "message": call.get("message"), "status": status,
                           "at_ms": int(time.time() * 1000)})

    async def _upstream(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self.session is not None
        headers = {k: request.headers[k] for k in FORWARDED_HEADERS if k in request.headers}
        url = self.upstream + request.path_qs
        async with self.session.request(request.method, url, data=body or None, headers=headers) as resp:
            answer = await resp.read()
            kept = {k: resp.headers[k] for k in ANSWER_HEADERS if k in resp.headers}
            return resp.status, kept, answer

    # -- the control side -------------------------------------------------------
    def control_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/refuse", self.control_refuse)
        app.router.add_post("/delay", self.control_add("delay"))
        app.router.add_post("/error", self.control_add("error"))
        app.router.add_post("/drop", self.control_add("drop"))
        app.router.add_post("/clear", self.control_clear)
        app.router.add_get("/stats", self.control_stats)
        app.router.add_get("/sends", self.control_sends)
        return app

    async def control_refuse(self, request: web.Request) -> web.Response:
        seconds = float((await request.json()).get("seconds") or 0)
        await self.refuse(seconds)
        return await self.control_stats(request)

    def control_add(self, kind: str):  # type: ignore[no-untyped-def]
        async def add(request: web.Request) -> web.Response:
            params = await request.json() if request.can_read_body else {}
            calls = params.pop("calls", None)
            for_seconds = params.pop("for_seconds", None)
            until = time.monotonic() + float(for_seconds) if for_seconds else None
            self.faults = [f for f in self.faults if f.kind != kind]
            self.faults.append(Fault(kind, int(calls) if calls is not None else None, until, params))
            return await self.control_stats(request)

        return add

    async def control_clear(self, request: web.Request) -> web.Response:
        self.faults.clear()
        self.counts.clear()
        self.sends.clear()
        if self._relisten is not None:
            self._relisten.cancel()
            self._relisten = None
        await self.listen()
        return await self.control_stats(request)

    async def control_stats(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        faults = [{"kind": f.kind, "calls": f.calls, "seconds_left": None if f.until is None else f.until - now,
                   **f.params} for f in self.faults if f.live(now)]
        return web.json_response({"listening": self.site is not None, "counts": dict(self.counts),
                                  "faults": faults})


    async def control_sends(self, request: web.Request) -> web.Response:
        return web.json_response({"sends": self.sends})


async def serve(args: argparse.Namespace) -> None:
    standin = StandIn(args.upstream, args.host, args.port)
    standin.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=30))
    # handler_cancellation: a call whose caller died before it was forwarded never reaches Meta
    standin.runner = web.AppRunner(standin.graph_app(), access_log=None, handler_cancellation=True)
    await standin.runner.setup()
    await standin.listen()
    control = web.AppRunner(standin.control_app(), access_log=None)
    await control.setup()
    await web.TCPSite(control, args.host, args.control_port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal  # noqa: PLC0415

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await control.cleanup()
    await standin.runner.cleanup()
    await standin.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the sandbox's Graph root, e.g. http://h:p/sandbox/graph")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
