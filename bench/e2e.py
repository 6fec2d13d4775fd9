"""End to end: a shopper's "LIVE" answered, salebell beside Bottender 1.5.5 on the same load, in one run.

    .venv/bin/python bench/e2e.py [--n 5000] [--connections 32] [--rounds 2]

Targets, one after the other in each round, each against the same Graph stand-in (``graph_stub.py``,
which accepts every send) and driven by the same load generator (``loadgen.py``: N signed "LIVE"
webhooks from N new shoppers over C connections, then waiting for N replies), both from
``../shared/peers/``:

1. Bottender 1.5.5 (``../shared/peers/bottender-bot``, memory sessions, nothing durable), installed into
   a scratch copy with ``npm install --ignore-scripts`` (kept in ``~/.cache/salebell-bench``);
2. ``salebell serve`` (web and workers in one process);
3. ``salebell serve --web-only`` and one ``salebell worker``.

salebell runs in production mode against the stand-in (``PAGE_SEND_RATE=0``, log level WARNING, the
default plugins) on a private redis-server flushed before each run. Printed per target: replies/s end to
end, ack p50/p99, CPU seconds of its processes per 1,000 events, Redis commands run per event
(``INFO commandstats``, the calls inside scripts included) with the script calls among them, and
replies/s as a ratio to Bottender's in the same round. The issue's target
(issue 10): ≥ 3× Bottender for ``serve`` and for web + worker; ≤ 12 Redis round trips per chat event.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis as redis_sync

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, py_spy, recording  # noqa: E402
from tests.support.redis_server import RedisProcess, free_port  # noqa: E402

PEERS = ROOT.parent / "shared" / "peers"
PAGE = "100200300400500"  # loadgen.py's Page
SECRET = "bench-app-secret"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "salebell-bench"


def bottender_dir() -> Path:
    """A scratch copy of the peer bot with its node_modules (installed once, then reused)."""
    target = CACHE / "bottender-bot"
    if not (target / "node_modules" / "bottender").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(PEERS / "bottender-bot", target)
        print("installing Bottender 1.5.5 (npm install --ignore-scripts) …", flush=True)
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=target, check=True,
                       stdout=subprocess.DEVNULL)
    return target


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants (npx starts node as a child)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += cpu_seconds(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return total


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status < 500:
                    return
        except OSError as exc:
            if getattr(exc, "code", 0) and exc.code < 500:  # type: ignore[attr-defined]
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f}s")


def commands(port: int) -> tuple[int, int]:
    """Script calls (EVALSHA, EVAL) and every command run (``commandstats``: the calls inside scripts too)."""
    client = redis_sync.Redis(port=port, socket_timeout=5)
    try:
        stats = client.info("commandstats")
        scripts = sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))
        return scripts, sum(int(v["calls"]) for v in stats.values())
    finally:
        client.close()


class Bench:
    def __init__(self, root: Path, n: int, connections: int) -> None:
        self.root, self.n, self.connections = root, n, connections
        self.stub_port = free_port()
        self.redis = RedisProcess(root / "redis")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.profile: tuple[str, Path] | None = None  # (py-spy, the folder of its collapsed stacks)
        self.stub: subprocess.Popen[bytes] | None = None  # the Graph stand-in (its CPU is the harness's)

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]]) -> None:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def salebell_env(self, port: int, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FB_", "REDIS", "SALEBELL_"))}
        return {**base, "FB_PAGE_ID": PAGE, "FB_PAGE_ACCESS_TOKEN": "bench-page-token", "FB_APP_SECRET": SECRET,
                "FB_VERIFY_TOKEN": "v", "ADMIN_TOKEN": "bench-admin", "REDIS_URL": self.redis.url,
                "GRAPH_API_URL": f"http://127.0.0.1:{self.stub_port}", "PAGE_SEND_RATE": "0", "PORT": str(port),
                "HOST": "127.0.0.1", "SALEBELL_DATA_DIR": str(self.root / f"data-{port}"), **extra}

    def load(self, url: str) -> dict[str, Any]:
        """One load generator run; its own CPU seconds go in the figures (``loadgen_cpu``)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, str(PEERS / "loadgen.py"), url, SECRET, str(self.n),
                              str(self.connections), f"http://127.0.0.1:{self.stub_port}"],
                             check=True, capture_output=True, text=True, timeout=600)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
        figures["loadgen_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return figures

    def measure(self, name: str, url: str, procs: list[subprocess.Popen[bytes]], redis: bool) -> dict[str, Any]:
        cpu0 = sum(tree_cpu(p.pid) for p in procs)
        others0 = self.stub_and_redis_cpu()
        sent0, run0 = commands(self.redis.port) if redis else (0, 0)
        with self.profiling(procs if redis else []):
            figures = self.load(url)
        cpu = sum(tree_cpu(p.pid) for p in procs) - cpu0
        stub_cpu, redis_cpu = (b - a for a, b in zip(others0, self.stub_and_redis_cpu(), strict=True))
        per_1000 = 1000 / self.n
        figures.update(harness_cpu_per_1000=(figures.pop("loadgen_cpu") + stub_cpu) * per_1000,
                       redis_cpu_per_1000=redis_cpu * per_1000)
        sent1, run1 = commands(self.redis.port) if redis else (0, 0)
        figures.update(name=name, cpu_per_1000=cpu / self.n * 1000,
                       scripts_per_event=(sent1 - sent0) / self.n if redis else None,
                       redis_per_event=(run1 - run0) / self.n if redis else None)
        return figures

    def stub_and_redis_cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the Graph stand-in and of redis-server."""
        stub = cpu_seconds(self.stub.pid) if self.stub is not None else 0.0
        redis = cpu_seconds(self.redis.proc.pid) if self.redis.proc is not None else 0.0
        return stub, redis

    @contextlib.contextmanager
    def profiling(self, procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
        """py-spy on each of ``procs`` for as long as the block runs (``--profile``), collapsed stacks per process."""
        if self.profile is None:
            yield
            return
        spy, folder = self.profile
        with recording(spy, folder, {p.pid: self.label(p) for p in procs}):
            yield

    @staticmethod
    def label(proc: subprocess.Popen[bytes]) -> str:
        argv = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
        return "-".join(a.lstrip("-") for a in argv if a in ("serve", "worker", "--web-only"))

    def bottender(self, folder: Path) -> dict[str, Any]:
        port = free_port()
        env = {**os.environ, "MESSENGER_PAGE_ID": PAGE, "MESSENGER_ACCESS_TOKEN": "tok", "MESSENGER_APP_ID": "1",
               "MESSENGER_APP_SECRET": SECRET, "MESSENGER_VERIFY_TOKEN": "v",
               "MESSENGER_ORIGIN": f"http://127.0.0.1:{self.stub_port}", "NODE_ENV": "production"}
        proc = self.spawn("bottender", ["npx", "bottender", "start", "--port", str(port)], env, cwd=folder)
        try:
            wait_http(f"http://127.0.0.1:{port}/webhooks/messenger")
            return self.measure("Bottender 1.5.5", f"http://127.0.0.1:{port}/webhooks/messenger", [proc], False)
        finally:
            self.stop([proc])

    def salebell(self, web_only: bool) -> dict[str, Any]:
        redis_sync.Redis(port=self.redis.port).flushall()
        port = free_port()
        bot = [sys.executable, "-m", "bot", "--log-level", "WARNING"]
        procs = [self.spawn(f"serve-{port}", [*bot, "serve", *(["--web-only"] if web_only else [])],
                            self.salebell_env(port))]
        if web_only:
            procs.append(self.spawn(f"worker-{port}", [*bot, "worker"], self.salebell_env(port)))
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            name = "salebell serve --web-only + worker" if web_only else "salebell serve"
            time.sleep(1.0)  # the worker's loops start after its Redis check
            return self.measure(name, f"http://127.0.0.1:{port}/webhook", procs, True)
        finally:
            self.stop(procs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="webhooks (new shoppers) per target (default 5000)")
    parser.add_argument("--connections", type=int, default=32, help="load generator connections (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three targets (default 2)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy (pip install py-spy) each salebell process during its load; collapsed stacks "
                             "into DIR, summarised by bench/profile_summary.py")
    args = parser.parse_args()
    spy = py_spy()
    if args.profile is not None and not spy:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    folder = bottender_dir()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="salebell-bench-e2e-") as tmp:
        bench = Bench(Path(tmp), args.n, args.connections)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            bench.profile = (spy, args.profile.resolve())
        stub = bench.stub = bench.spawn("graph-stub", [sys.executable, str(PEERS / "graph_stub.py"),
                                                       str(bench.stub_port)], dict(os.environ))
        bench.redis.start()
        try:
            wait_http(f"http://127.0.0.1:{bench.stub_port}/count")
            for round_no in range(1, args.rounds + 1):
                peer = bench.bottender(folder)
                for figures in (peer, bench.salebell(False), bench.salebell(True)):
                    figures.update(round=round_no, ratio=figures["replies_per_s"] / max(1, peer["replies_per_s"]))
                    rows.append(figures)
                    print(json.dumps(figures), flush=True)
        finally:
            bench.stop([stub])
            bench.redis.stop()
    print(f"\n{'round':<6}{'target':<36}{'replies/s':>10}{'× Bottender':>12}{'ack p50/p99 ms':>16}"
          f"{'CPU s/1k':>10}{'Redis cmds (scripts) /event':>29}")
    for r in rows:
        per_event = (f"{r['redis_per_event']:.1f} ({r['scripts_per_event']:.1f})" if r["redis_per_event"] is not None
                     else "—")
        print(f"{r['round']:<6}{r['name']:<36}{r['replies_per_s']:>10}{r['ratio']:>12.2f}"
              f"{r['ack_p50_ms']:>8.1f}/{r['ack_p99_ms']:<7.1f}{r['cpu_per_1000']:>10.2f}{per_event:>29}")
    cores = os.cpu_count() or 1
    print(f"\nCPU seconds per 1,000 events of everything on this {cores}-core machine, and the replies/s those "
          f"would cap it at were the CPU the only limit (cores × 1,000 / total):")
    print(f"{'round':<6}{'target':<36}{'target':>8}{'redis':>7}{'loadgen+stub':>14}{'total':>7}{'ceiling/s':>11}")
    for r in rows:
        total = r["cpu_per_1000"] + r["redis_cpu_per_1000"] + r["harness_cpu_per_1000"]
        print(f"{r['round']:<6}{r['name']:<36}{r['cpu_per_1000']:>8.2f}{r['redis_cpu_per_1000']:>7.2f}"
              f"{r['harness_cpu_per_1000']:>14.2f}{total:>7.2f}{cores * 1000 / total:>11.0f}")
    return 0 if all(r["replies"] >= r["n"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
