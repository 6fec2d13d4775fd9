"""Webhook ingest benchmark: signed webhook load on loopback against `salebell serve` and,
in the same run, against a bare aiohttp app whose POST /webhook only reads the body.

    .venv/bin/python bench/ingest.py [--seconds 10] [--rate 2000] [--concurrency 64] [--no-wrk]

Servers, one after the other: the bare handler; `salebell serve` with WEB_RUNS_WORKERS=false
(a web process beside separate workers); `salebell serve` default (web + splitters +
consumers in one process); the bare handler again, so drift of a shared machine shows and
the reference is the mean of both. salebell runs in production mode (a page token is set,
no sandbox sub-app) at log level WARNING with its default plugins (or SALEBELL_PLUGINS),
the Graph API unreachable, and one Page per run whose keys are deleted after each server.
Each server is pinned to CPU 0 and this load generator to CPU 1; Redis, not ours, runs
where the kernel puts it, and the `rest` column shows what other processes took meanwhile.

The load generator is lean on purpose: raw asyncio connections carrying precomputed
HTTP/1.1 keep-alive requests and a status-line + Content-Length response parser, so one
Python process offers well over 2,000 req/s. Open loop (first, after a 1 s warm-up):
requests planned at a fixed rate, latency measured from the planned send time, so time
queued behind a slow server counts (no coordinated omission). Closed loop: N connections
back to back (max req/s). `wrk`, when installed, cross-checks the closed loop.

Targets (DESIGN.md): salebell ≥ 0.5 × the bare handler's req/s, p99 < 10 ms at 2,000 req/s.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import cpu_seconds  # noqa: E402
from bot.plugins import installed_plugin_names  # noqa: E402
from bot.signature import sign  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

SECRET = "bench-app-secret"
SERVER_CPU, CLIENT_CPU = 0, 1

BARE_SERVER = """
import sys
from aiohttp import web
async def handle(request):
    await request.read()
    return web.Response(text="EVENT_RECEIVED")
app = web.Application(client_max_size=1024 * 1024)
app.router.add_post("/webhook", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "{sig}"
"""


# --- the load generator -------------------------------------------------------------------

class Result:
    """Latencies (seconds) and answers of one phase."""

    def __init__(self, latencies: list[float], elapsed: float, statuses: Counter[int | str]) -> None:
        latencies.sort()
        self.latencies = latencies
        self.elapsed = elapsed
        self.statuses = statuses
        self.server_cpu = 0.0  # share of one core used by the server process during the phase
        self.client_cpu = 0.0  # same for this load generator
        self.other_cpu = 0.0  # every other process on the machine, Redis included

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed

    def quantile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(q * len(self.latencies)))] * 1000

    @property
    def p50_ms(self) -> float:
        return self.quantile_ms(0.50)

    @property
    def p99_ms(self) -> float:
        return self.quantile_ms(0.99)


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, gen: LoadGenerator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.need = -1
        self.status = 0
        self.started = 0.0  # planned (open loop) or actual (closed loop) send time of the request in flight
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, started: float) -> None:
        self.busy, self.started = True, started
        self.transport.write(request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                at = head.find(b"\r\ncontent-length:")
                if at < 0:  # our servers always send Content-Length; anything else is a broken answer
                    self.transport.close()  # type: ignore[union-attr]
                    return
                stop = head.find(b"\r\n", at + 2)
                self.status = int(head[9:12])
                self.need = end + 4 + int(head[at + 17:stop if stop > 0 else None])
            if len(buf) < self.need:
                return
            del buf[:self.need]
            self.need, self.busy = -1, False
            self.gen.answered(self, self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)


class LoadGenerator:
    """Precomputed requests over a pool of raw keep-alive connections, closed or open loop."""

    def __init__(self, host: str, port: int, requests: list[bytes]) -> None:
        self.host, self.port, self.requests = host, port, requests
        self.conns: list[_Connection] = []
        self._i = 0
        self._phase: _Phase | None = None

    async def wait_up(self, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
        """Wait until the server answers a request (any status) or raise RuntimeError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            try:
                await self.connect(1)
                result = await asyncio.wait_for(self.closed_loop(0.0, 1), deadline - time.monotonic())
                if result.latencies:
                    return
            except (OSError, asyncio.TimeoutError):
                pass
            self.close()
            await asyncio.sleep(0.1)
        why = "exited" if not alive() else f"did not come up within {timeout:g} s"
        raise RuntimeError(f"server on port {self.port} {why}")

    async def closed_loop(self, seconds: float, connections: int) -> Result:
        """Each connection sends its next request as soon as the last is answered."""
        await self.connect(connections)
        return await self._run(_Phase(self, time.perf_counter() + seconds, None))

    async def open_loop(self, seconds: float, rate: float, connections: int) -> Result:
        """Requests planned every 1/rate s whatever the answers; a planned request waits for a free connection."""
        await self.connect(connections)
        phase = _Phase(self, None, rate)
        ticker = asyncio.create_task(phase.tick(int(seconds * rate)))
        result = await self._run(phase)
        await ticker
        return result

    def close(self) -> None:
        for c in self.conns:
            if c.transport:
                c.transport.close()
        self.conns = []

    def next_request(self) -> bytes:
        self._i = (self._i + 1) % len(self.requests)
        return self.requests[self._i]

    def answered(self, conn: _Connection, status: int | str) -> None:
        if self._phase:
            self._phase.answered(conn, status)

    def lost(self, conn: _Connection) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
            if self._phase:
                self._phase.lost(conn)

    async def connect(self, n: int) -> None:
        """Keep exactly ``n`` open connections (new ones opened, extra ones closed)."""
        loop = asyncio.get_running_loop()
        while len(self.conns) < n:
            _, conn = await loop.create_connection(lambda: _Connection(self), self.host, self.port)
            self.conns.append(conn)
        for extra in self.conns[n:]:
            extra.transport.close()  # type: ignore[union-attr]
        del self.conns[n:]

    async def _run(self, phase: _Phase) -> Result:
        self._phase = phase
        try:
            phase.begin()
            return await phase.done
        finally:
            self._phase = None


class _Phase:
    """Bookkeeping of one closed-loop (``stop_at``) or open-loop (``rate``) phase."""

    def __init__(self, gen: LoadGenerator, stop_at: float | None, rate: float | None) -> None:
        self.gen, self.stop_at, self.rate = gen, stop_at, rate
        self.latencies: list[float] = []
        self.statuses: Counter[int | str] = Counter()
        self.idle: list[_Connection] = []
        self.backlog: list[float] = []  # planned send times waiting for a connection (open loop)
        self.backlog_at = 0
        self.inflight = 0
        self.planning = rate is not None
        self.start = time.perf_counter()
        self.done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()

    def begin(self) -> None:
        self.start = time.perf_counter()
        if self.rate is None:
            for c in list(self.gen.conns):
                self.send(c, time.perf_counter())
        else:
            self.idle = list(self.gen.conns)

    async def tick(self, total: int) -> None:
        """Open loop: dispatch request i at start + i/rate (late ones at once, never skipped)."""
        assert self.rate
        i = 0
        while i < total and not self.done.done():
            now = time.perf_counter()
            while i < total and self.start + i / self.rate <= now:
                self.dispatch(self.start + i / self.rate)
                i += 1
            if i < total:
                await asyncio.sleep(max(0.0, self.start + i / self.rate - time.perf_counter()))
        self.planning = False
        self.maybe_finish()

    def send(self, conn: _Connection, started: float) -> None:
        self.inflight += 1
        conn.send(self.gen.next_request(), started)

    def dispatch(self, planned: float) -> None:
        if self.idle:
            self.send(self.idle.pop(), planned)
        else:
            self.backlog.append(planned)

    def answered(self, conn: _Connection, status: int | str) -> None:
        now = time.perf_counter()
        self.latencies.append(now - conn.started)
        self.statuses[status] += 1
        self.inflight -= 1
        if self.rate is None:
            if self.stop_at is not None and now < self.stop_at:
                self.send(conn, now)
            else:
                self.idle.append(conn)
        elif self.backlog_at < len(self.backlog):
            self.send(conn, self.backlog[self.backlog_at])
            self.backlog_at += 1
        else:
            self.idle.append(conn)
        self.maybe_finish()

    def lost(self, conn: _Connection) -> None:
        if conn.busy:
            self.statuses["connection lost"] += 1
            self.inflight -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if not self.gen.conns and not self.done.done():
            self.statuses["unanswered (no connection left)"] += len(self.backlog) - self.backlog_at
            self.done.set_result(Result(self.latencies, time.perf_counter() - self.start, self.statuses))
        else:
            self.maybe_finish()

    def maybe_finish(self) -> None:
        if self.done.done() or self.planning or self.inflight:
            return
        if self.backlog_at < len(self.backlog):
            return
        self.done.set_result(Result(self.latencies, time.perf_counter() - self.start, self.statuses))


async def metered(server_pid: int, phase: Awaitable[Result]) -> Result:
    """Run ``phase`` and note the CPU used meanwhile by the server, this process and all the rest."""
    server, own, busy = cpu_seconds(server_pid), cpu_seconds(os.getpid()), busy_seconds()
    result = await phase
    result.server_cpu = (cpu_seconds(server_pid) - server) / result.elapsed
    result.client_cpu = (cpu_seconds(os.getpid()) - own) / result.elapsed
    result.other_cpu = max(0.0, (busy_seconds() - busy) / result.elapsed - result.server_cpu - result.client_cpu)
    return result


def busy_seconds() -> float:
    """CPU time all cores spent busy since boot (``/proc/stat``); 0.0 elsewhere."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    except (OSError, ValueError):
        return 0.0
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def webhook_body(page: str, i: int) -> bytes:
    """One Messenger message event for ``page``, shaped like Meta's (one entry, one item)."""
    body = {"object": "page", "entry": [{"id": page, "time": 1767261600123, "messaging": [
        {"sender": {"id": str(7000000 + i % 5000)}, "recipient": {"id": page}, "timestamp": 1767261599876 + i,
         "message": {"mid": f"m_bench_{i}", "text": "LIVE po 🔴"}}]}]}
    return json.dumps(body).encode()


def signed_requests(page: str, port: int, n: int) -> list[bytes]:
    """Complete HTTP/1.1 requests, built once: request line, headers and signed body."""
    out = []
    for i in range(n):
        raw = webhook_body(page, i)
        head = (f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\nX-Hub-Signature-256: {sign(SECRET, raw)}\r\n\r\n")
        out.append(head.encode() + raw)
    return out


def start_server(kind: str, port: int, redis_url: str, page: str) -> subprocess.Popen[bytes]:
    if kind == "bare":
        cmd = [sys.executable, "-c", BARE_SERVER, str(port)]
        env = dict(os.environ)
    else:  # production mode (a page token is set): no sandbox sub-app, as deployed
        cmd = [sys.executable, "-m", "bot", "--log-level", "WARNING", "serve"]
        env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "REDIS_URL": redis_url,
               "FB_APP_SECRET": SECRET, "FB_PAGE_ID": page, "FB_VERIFY_TOKEN": "bench-verify",
               "FB_PAGE_ACCESS_TOKEN": "bench-not-a-token", "ADMIN_TOKEN": "bench-admin",
               "GRAPH_API_URL": "http://127.0.0.1:9",
               "WEB_RUNS_WORKERS": "true" if kind == "all" else "false"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    pin(proc.pid, SERVER_CPU)
    return proc


def pin(pid: int, cpu: int) -> bool:
    try:
        os.sched_setaffinity(pid, {cpu})
        return True
    except (AttributeError, OSError):
        return False


def wrk_closed_loop(port: int, page: str, seconds: float, connections: int) -> tuple[float, int] | None:
    """(req/s, non-2xx answers) from wrk, pinned to the client CPU; None if wrk is not installed."""
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    raw = webhook_body(page, 0)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT.format(body=json.dumps(raw.decode()), sig=sign(SECRET, raw)))
    try:
        cmd = ["taskset", "-c", str(CLIENT_CPU)] if shutil.which("taskset") else []
        out = subprocess.run([*cmd, wrk, "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "-s", f.name,
                              f"http://127.0.0.1:{port}/webhook"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec:")))
    bad = next((int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line), 0)
    return rps, bad


@dataclass
class Measured:
    """The phases of one server."""

    kind: str
    steady: Result  # open loop at --rate
    peak: Result  # closed loop
    wrk: tuple[float, int] | None  # (req/s, non-2xx) of the wrk cross-check


async def measure(kind: str, page: str, args: argparse.Namespace) -> Measured:
    port = free_port()
    proc = start_server(kind, port, args.redis, page)
    gen = LoadGenerator("127.0.0.1", port, signed_requests(page, port, 5000))
    try:
        await gen.wait_up(timeout=30, alive=lambda: proc.poll() is None)
        await gen.open_loop(1.0, args.rate, args.open_connections)  # warm-up
        # The open loop first: with workers in the process, a closed loop would leave a big backlog behind.
        # Fresh connections for each phase: connections opened while the server starts up were seen to
        # stay in a slow mode (the bare handler at 2/3 of its speed, wrk disagreeing) until replaced.
        gen.close()
        await gen.connect(args.open_connections)  # outside the metered phase: accepting costs server CPU too
        steady = await metered(proc.pid, gen.open_loop(args.seconds, args.rate, args.open_connections))
        gen.close()
        await gen.connect(args.concurrency)
        peak = await metered(proc.pid, gen.closed_loop(args.seconds, args.concurrency))
        wrk = None if args.no_wrk else await asyncio.to_thread(wrk_closed_loop, port, page, args.seconds,
                                                                args.concurrency)
    finally:
        gen.close()
        proc.terminate()
        proc.wait()
    return Measured(kind, steady, peak, wrk)


async def delete_page_keys(redis_url: str, page: str) -> int:
    from bot.keys import Keys  # noqa: PLC0415
    from bot.storage import connect  # noqa: PLC0415

    client = connect(redis_url)
    try:
        return await common.delete_page_keys(client, Keys(page))
    finally:
        await client.aclose()


NAMES = {"bare": "bare aiohttp handler", "web": "salebell serve (web only)", "all": "salebell serve (web+workers)"}


def report(results: list[Measured], args: argparse.Namespace, pinned: bool) -> bool:
    """Print the table and the verdicts; True when every salebell server meets both targets."""
    where = (f"servers pinned to CPU {SERVER_CPU}, load generator to CPU {CLIENT_CPU}" if pinned
             else "NOT pinned (sched_setaffinity unavailable)")
    print(f"\nwebhook ingest: {os.cpu_count()} cores, {where}, Redis ({args.redis}) unpinned\n"
          f"open loop: {args.rate:g} req/s planned over {args.open_connections} connections, latency from the "
          f"planned send time; closed loop: {args.concurrency} connections back to back; {args.seconds:g} s each\n"
          f"salebell: plugins {os.environ.get('SALEBELL_PLUGINS') or ','.join(installed_plugin_names())}, "
          "Graph API unreachable "
          "(127.0.0.1:9: replies fail fast), log level WARNING\n"
          "cpu: share of one core used by the server (srv), this load generator (gen) and everything else "
          "on the machine, Redis included (rest)\n")
    cols = f"{'req/s':>6} {'p50 ms':>6} {'p99 ms':>6} {'srv':>4} {'gen':>4} {'rest':>4}"
    print(f"{'':29} | {'open loop':-^37} | {'closed loop':-^45} |\n"
          f"{'server':29} | {cols} | {cols} {'wrk r/s':>7} | errors")
    for m in results:
        errors = m.steady.statuses + m.peak.statuses
        del errors[200]
        if m.wrk and m.wrk[1]:
            errors["wrk non-2xx"] = m.wrk[1]
        err = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items(), key=str)) or "none"
        wrk_rps = f"{m.wrk[0]:.0f}" if m.wrk else "-"
        print(f"{NAMES[m.kind]:29} | {_cells(m.steady)} | {_cells(m.peak)} {wrk_rps:>7} | {err}")
    bare = [m for m in results if m.kind == "bare"]
    bare_rps = sum(m.peak.rps for m in bare) / len(bare) if bare else 0.0
    bare_wrk = [m.wrk[0] for m in bare if m.wrk]
    if len(bare) > 1:
        print(f"bare handler measured {len(bare)} times (drift check); "
              f"its mean, {bare_rps:.0f} req/s, is the reference")
    ok = True
    for m in (m for m in results if m.kind != "bare"):
        verdicts = []
        if bare_rps:
            ratio = m.peak.rps / bare_rps
            verdicts.append(f"{ratio:.2f} of bare req/s (target ≥ 0.50) {'PASS' if ratio >= 0.5 else 'FAIL'}")
            ok &= ratio >= 0.5
            if bare_wrk and m.wrk:
                verdicts.append(f"wrk says {m.wrk[0] / (sum(bare_wrk) / len(bare_wrk)):.2f}")
        s = m.steady
        clean = s.p99_ms < 10 and s.rps >= 0.98 * args.rate and sum(s.statuses.values()) == s.statuses[200]
        verdicts.append(f"p99 {s.p99_ms:.2f} ms at {args.rate:g} req/s, all 200 (target < 10 ms) "
                        f"{'PASS' if clean else 'FAIL'}")
        ok &= clean
        print(f"{NAMES[m.kind]}: " + "; ".join(verdicts))
    return ok


def _cells(r: Result) -> str:
    return (f"{r.rps:6.0f} {r.p50_ms:6.2f} {r.p99_ms:6.2f} {r.server_cpu:4.0%} {r.client_cpu:4.0%} "
            f"{r.other_cpu:4.0%}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--rate", type=float, default=2000.0, help="open-loop offered rate (req/s)")
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop connections")
    parser.add_argument("--open-connections", type=int, default=64, help="connection pool of the open loop")
    parser.add_argument("--servers", default="bare,web,all,bare",
                        help="order of servers among bare, web, all (bare twice brackets the run against drift)")
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk cross-check")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    pinned = pin(0, CLIENT_CPU) and (os.cpu_count() or 1) > 1
    page = f"9{random.randrange(10**13, 10**14)}"  # one Page per run; bodies are built for it
    results: list[Measured] = []
    try:
        for kind in args.servers.split(","):
            print(f"measuring {NAMES[kind]} ...", flush=True)
            results.append(await measure(kind, page, args))
            await delete_page_keys(args.redis, page)  # the next server starts with an empty inbox
    finally:
        await delete_page_keys(args.redis, page)
    return 0 if report(results, args, pinned) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
