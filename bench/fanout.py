"""Live-sale fan-out benchmark, run by a person: ``.venv/bin/python bench/fanout.py [--subscribers N]``.

Each run seeds subscribers straight into Redis (ConsentStore-compatible records: a
marketing subscription to the topic, the 24-hour window open, and the sandbox's
own shopper record), starts ``salebell serve`` (sandbox, admin API, no workers)
and ``salebell worker`` processes against ``REDIS_URL`` under a fresh Page id,
creates and starts a live sale through the admin API, and waits until every
notification is handled. Duplicates and losses are counted from what the sandbox
recorded: each shopper's inbox length (1 = notified once; 0 = lost; 2+ = duplicate).

Runs (DESIGN.md "Targets"):
1. the Page cap lifted (PAGE_SEND_RATE=0, sandbox limit off): 100,000 in under 30 s;
2. the default cap (250/s; shorter): the achieved rate at least 0.98 of the cap;
3. a send worker SIGKILLed midway, a fresh one started: 0 duplicates, 0 losses (the
   sandbox's receipts and echoes stay on here: echoes are how a reclaimed job in
   ``sending`` learns that its send happened).

Runs 1 and 2 switch the sandbox's sent log and receipts off (they would measure the
sandbox). Every run's keys are deleted at the end. ``--profile DIR`` runs py-spy on the web
process and each worker from the sale's start to its end (``bench/profile_summary.py DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.common import cpu_seconds, delete_page_keys, key_glob, py_spy, recording  # noqa: E402
from bot.consent import Subscription  # noqa: E402
from bot.keys import Keys  # noqa: E402
from bot.sandbox.keys import SandboxKeys  # noqa: E402
from bot.storage import connect  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

DEFAULT_REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
TOPIC = "daily_reminders"
TOKEN = "bench-" + secrets.token_hex(8)
SEED_CHUNK = 5000


@dataclass
class Result:
    run: str
    subscribers: int
    seconds: float
    sent: int
    duplicates: int
    losses: int
    note: str = ""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Deployment:
    """``salebell serve`` plus worker processes for one Page, and an HTTP session to its admin API."""

    def __init__(self, redis_url: str, keys: Keys, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = tempfile.mkdtemp(prefix="salebell-bench-")
        self.env = {**os.environ, "PORT": str(self.port), "REDIS_URL": redis_url, "FB_PAGE_ID": keys.page_id,
                    "ADMIN_TOKEN": TOKEN, "SALEBELL_PLUGINS": "live_sales", "WEB_RUNS_WORKERS": "false",
                    "SALEBELL_DATA_DIR": self.data_dir, **env}
        self.env.pop("FB_PAGE_ACCESS_TOKEN", None)
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.http: aiohttp.ClientSession | None = None
        self.dead_cpu = 0.0  # CPU of workers killed during the run

    def _spawn(self, role: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", role], env=self.env,
                                cwd=ROOT, stdout=subprocess.DEVNULL)

    async def start(self, workers: int, sandbox: dict[str, Any]) -> None:
        self.web = self._spawn("serve")
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"})
        for _ in range(400):
            try:
                async with self.http.get(self.base + "/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("salebell serve did not come up")
        await self.call("POST", "/sandbox/config", sandbox)
        for _ in range(workers):
            self.add_worker()

    def add_worker(self) -> subprocess.Popen[bytes]:
        worker = self._spawn("worker")
        self.workers.append(worker)
        return worker

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.http is not None
        async with self.http.request(method, self.base + path, json=body) as r:
            answer = await r.json()
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {answer}")
            return answer

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (web process, all worker processes, the killed one included)."""
        web = cpu_seconds(self.web.pid) if self.web else 0.0
        return web, sum(cpu_seconds(w.pid) for w in self.workers if w.poll() is None) + self.dead_cpu

    async def stop(self) -> None:
        for proc in [*self.workers, self.web]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.web]:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.http is not None:
            await self.http.close()


async def seed(redis: Redis, keys: Keys, count: int) -> list[str]:
    """``count`` subscribers, pipelined: subscription, open window, and the sandbox's shopper."""
    now = int(time.time() * 1000)
    psids = [str(7_000_000_000_000_000 + i) for i in range(count)]
    for start in range(0, count, SEED_CHUNK):
        chunk = psids[start:start + SEED_CHUNK]
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.subscribers(TOPIC), mapping={
                p: Subscription(p, TOPIC, "active", f"tok-{p}", "marketing_api", "Asia/Manila", now).pack()
                for p in chunk})
            pipe.hset(keys.window, mapping={p: now for p in chunk})
            for p in chunk:
                pipe.hset(keys.sandbox_shopper(p), mapping={"name": "bench", "timezone": "Asia/Manila",
                                                            "created_ms": now, "last_action_ms": now})
            await pipe.execute()
    return psids


async def per_notification_bytes(redis: Redis, keys: Keys, psids: list[str], sample: int = 200) -> float:
    """Mean Redis memory a sent notification leaves behind, over a sample of shoppers."""
    records = [k async for k in redis.scan_iter(match=key_glob(keys.prefix + "send:") + "*", count=1000)][:sample]
    total = sum([int(await redis.memory_usage(k, samples=0) or 0) for k in records]) / max(len(records), 1)
    some = psids[:sample]
    for key in ([keys.send_shopper_day(p) for p in some], [keys.awaiting_receipt(p) for p in some]):
        total += sum([int(await redis.memory_usage(k, samples=0) or 0) for k in key]) / max(len(some), 1)
    return total


async def inbox_counts(redis: Redis, keys: Keys, psids: list[str]) -> tuple[int, int]:
    """(duplicates, losses) from the sandbox: messages each shopper received beyond one, and none."""
    duplicates = losses = 0
    for start in range(0, len(psids), SEED_CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for p in psids[start:start + SEED_CHUNK]:
                pipe.llen(keys.sandbox_inbox(p))
            for n in await pipe.execute():
                duplicates += max(0, n - 1)
                losses += n == 0
    return duplicates, losses


async def wait_complete(dep: Deployment, sale: str, timeout: float, kill_at: int = 0) -> tuple[dict[str, Any], float]:
    """Poll the sale until complete (SIGKILL the first worker once ``kill_at`` are sent); the view, first send."""
    started = time.perf_counter()
    first_sent = 0.0
    while True:
        view = await dep.call("GET", f"/api/live-sales/{sale}")
        numbers = view["numbers"]
        if numbers["sent"] and not first_sent:
            first_sent = time.perf_counter()
        if kill_at and numbers["sent"] >= kill_at and dep.workers[0].poll() is None:
            dep.dead_cpu += cpu_seconds(dep.workers[0].pid)
            dep.workers[0].send_signal(signal.SIGKILL)
            dep.workers[0].wait()
            print(f"    killed worker {dep.workers[0].pid} at {numbers['sent']} sent; starting a fresh one", flush=True)
            dep.add_worker()
        if view["fanout"]["complete"]:
            return view, first_sent
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"not complete after {timeout}s: {numbers}")
        await asyncio.sleep(0.05)


def profiling(args: argparse.Namespace, dep: Deployment, run: str) -> contextlib.AbstractContextManager[None]:
    """py-spy on the web process and the workers for the block (``--profile``), a folder per run."""
    if args.profile is None or dep.web is None:
        return contextlib.nullcontext()
    folder = args.profile / run.split()[0]
    folder.mkdir(parents=True, exist_ok=True)
    procs = {dep.web.pid: "serve-sandbox", **{w.pid: "worker" for w in dep.workers}}
    return recording(py_spy(), folder.resolve(), procs)


async def one_run(args: argparse.Namespace, name: str, count: int, worker_env: dict[str, str],
                  sandbox: dict[str, Any], kill_at: float = 0.0) -> Result:
    redis = connect(args.redis)
    keys = SandboxKeys("bench" + secrets.token_hex(5))
    dep = Deployment(args.redis, keys, {**worker_env, "SEND_CONCURRENCY": str(args.concurrency)})
    try:
        t = time.perf_counter()
        psids = await seed(redis, keys, count)
        resting = sum([int(await redis.memory_usage(k, samples=0) or 0)
                       for k in (keys.subscribers(TOPIC), keys.window)]) / count
        print(f"  {name}: seeded {count:,} subscribers in {time.perf_counter() - t:.1f}s "
              f"(Redis per subscriber at rest: {resting:.0f} B, subscription + window)", flush=True)
        await dep.start(args.workers, sandbox)
        body = {"title": "Bench live", "url": "https://shop.test/live"}
        sale = (await dep.call("POST", "/api/live-sales", body))["id"]
        web0, workers0 = dep.cpu()
        redis0 = await redis_cpu(redis)
        with profiling(args, dep, name):
            t0 = time.perf_counter()
            await dep.call("POST", f"/api/live-sales/{sale}/start")
            view, first_sent = await wait_complete(dep, sale, args.timeout, int(kill_at * count))
            elapsed = time.perf_counter() - t0
        web1, workers1 = dep.cpu()
        cpu = (web1 - web0, workers1 - workers0, await redis_cpu(redis) - redis0)
        numbers = view["numbers"]
        duplicates, losses = await inbox_counts(redis, keys, psids)
        sent_bytes = await per_notification_bytes(redis, keys, psids)
        print(f"    Redis per notification sent, kept up to 8 days: {sent_bytes:.0f} B "
              "(send record, shopper's day count, awaited receipt)", flush=True)
        others = {**numbers["skipped"], **{f"failed {k}": v for k, v in numbers["failed"].items()}}
        note = f"queued {numbers['queued']:,}" + (f", {others}" if others else "")
        if first_sent:
            note += f", from first send {numbers['sent'] / (time.perf_counter() - first_sent):,.0f}/s"
        per_msg = [c / max(numbers["sent"], 1) * 1e6 for c in cpu]
        note += ", CPU us/msg: web+sandbox {:.0f}, workers {:.0f}, redis {:.0f}".format(*per_msg)
        return Result(name, count, elapsed, numbers["sent"], duplicates, losses, note)
    finally:
        await dep.stop()
        await delete_page_keys(redis, keys)
        await redis.aclose()


def print_table(results: list[Result], cap: float) -> None:
    print(f"\n{'run':<28} {'subscribers':>11} {'wall s':>7} {'msg/s':>8} {'sent':>8} {'dups':>5} {'lost':>5}  note")
    for r in results:
        print(f"{r.run:<28} {r.subscribers:>11,} {r.seconds:>7.1f} {r.rate:>8,.0f} {r.sent:>8,} {r.duplicates:>5} "
              f"{r.losses:>5}  {r.note}")
    for r in results:
        if r.run.startswith("1"):
            print(f"target 1: {r.subscribers:,} in under 30 s: {'met' if r.seconds < 30 else 'NOT met'} "
                  f"({r.seconds:.1f}s)")
        if r.run.startswith("2"):
            ratio = r.rate / cap
            print(f"target 2: >= 0.98 of the {cap:g}/s cap: {'met' if ratio >= 0.98 else 'NOT met'} ({ratio:.3f})")
        if r.run.startswith("3"):
            ok = r.duplicates == 0 and r.losses == 0 and r.sent == r.subscribers
            print(f"target 3: 0 duplicates, 0 losses after a SIGKILL: {'met' if ok else 'NOT met'}")


async def main_async(args: argparse.Namespace) -> None:
    print(f"salebell fan-out bench: {args.redis}, {args.workers} worker process(es), send concurrency "
          f"{args.concurrency}", flush=True)
    quiet = {"sent_log": False, "receipts": False}
    runs = {
        "uncapped": lambda: one_run(args, "1 cap lifted", args.subscribers, {"PAGE_SEND_RATE": "0"},
                                    {**quiet, "page_rate_limit": 0}),
        "capped": lambda: one_run(args, f"2 cap {args.cap:g}/s", args.capped,
                                  {"PAGE_SEND_RATE": str(args.cap)}, {**quiet, "page_rate_limit": 300}),
        "kill": lambda: one_run(args, "3 worker SIGKILLed midway", args.kill,
                                {"PAGE_SEND_RATE": "0", "RECLAIM_IDLE_SECONDS": "2", "LEASE_SECONDS": "2"},
                                {"sent_log": False, "receipts": True, "read_receipts": False, "page_rate_limit": 0},
                                kill_at=0.3),
    }
    results = []
    for name in args.run or list(runs):
        results.append(await runs[name]())
        print(f"  done: {results[-1].run}: {results[-1].seconds:.1f}s", flush=True)
    print_table(results, args.cap)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--subscribers", type=int, default=100_000, help="run 1 (cap lifted)")
    parser.add_argument("--capped", type=int, default=20_000, help="run 2 (at the cap)")
    parser.add_argument("--kill", type=int, default=20_000, help="run 3 (a worker killed)")
    parser.add_argument("--cap", type=float, default=250.0)
    parser.add_argument("--workers", type=int, default=2, help="salebell worker processes (2 on a 2-core box)")
    parser.add_argument("--concurrency", type=int, default=64, help="SEND_CONCURRENCY of each worker")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up a run after this many seconds")
    parser.add_argument("--run", action="append", choices=("uncapped", "capped", "kill"), help="only these runs")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy (pip install py-spy) the web process and workers of each run into DIR/<run>")
    args = parser.parse_args(argv)
    if args.profile is not None and not py_spy():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
