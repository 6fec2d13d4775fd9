"""Send-path benchmarks, run by a person: ``.venv/bin/python bench/send.py [--redis URL] [--seconds S]``.

Section 1 "token bucket": decisions/s of :meth:`bot.buckets.SendLimits.take` (token gap,
per-shopper day, Page budget and Page rate all checked) by many concurrent tasks on
distinct tokens and shoppers, beside a plain ``EVALSHA 'return 1'`` round trip made the
naive way (one awaited call each) at the same concurrency in the same run. Target
(DESIGN.md): at least 20,000 decisions/s against one local Redis.

Every run uses a fresh random Page id and deletes its keys at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.common import delete_page_keys, key_glob  # noqa: E402
from bot.buckets import SendLimits  # noqa: E402
from bot.graph import payloads  # noqa: E402
from bot.keys import Keys  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox.keys import SandboxKeys  # noqa: E402
from bot.send_jobs import SendJob  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage import connect  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

DEFAULT_REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
BUCKET_TARGET = 20_000


@dataclass
class Row:
    what: str
    ops: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float = 0.0  # this process's CPU time over the measurement
    note: str = ""

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100)[int(q * 100) - 1]


@dataclass
class Bench:
    """What every section gets: the options, a Redis client and the run's own Page keys."""

    args: argparse.Namespace
    redis: Redis
    keys: Keys


async def drive(op: Callable[[int], Awaitable[object]], total: int, concurrency: int, seconds: float) -> Row:
    """Run ``op(i)`` for i in range(total) from ``concurrency`` tasks, or until ``seconds`` pass."""
    latencies: list[float] = []
    counter = iter(range(total))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        clock = time.perf_counter
        for i in counter:
            started = clock()
            await op(i)
            latencies.append((clock() - started) * 1000)
            if started > deadline:
                return

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Row("", len(latencies), time.perf_counter() - started, latencies, time.process_time() - cpu)


async def section_token_bucket(bench: Bench) -> list[Row]:
    """Section 1: SendLimits.take against a plain EVALSHA round trip, same concurrency."""
    args, redis, keys = bench.args, bench.redis, bench.keys
    plain = redis.register_script("return 1")
    plain_key = keys.prefix + "bench:plain"
    # the Page rate far above the load, so every limit is checked and none refuses
    defaults = Settings().replace(page_send_rate=1e7)
    gap = 12 * 3600 * 1000

    async def plain_op(i: int) -> object:
        return await plain(keys=[plain_key], args=[])

    def take_op(limits: SendLimits, tag: str, tally: list[int]) -> Callable[[int], Awaitable[object]]:
        async def op(i: int) -> object:
            decision = await limits.take(shopper=f"{tag}{i}", token=f"{tag}-token-{i}", token_gap_ms=gap, per_day=True)
            tally[0] += decision.allowed
            return decision

        return op

    variants = [
        ("take: token gap + shopper day + rate", defaults, "a"),
        ("take: the same + Page daily budget", defaults.replace(page_daily_budget=10**9), "b"),
    ]
    await drive(plain_op, 2000, args.concurrency, args.seconds)  # warm-up
    rows = [await drive(plain_op, args.decisions, args.concurrency, args.seconds)]
    rows[0].what = "EVALSHA 'return 1', one await each"
    for what, settings, tag in variants:
        limits = SendLimits(redis, keys, settings, shop_timezone="Europe/Paris")
        tally = [0]
        await drive(take_op(limits, "w" + tag, [0]), 2000, args.concurrency, args.seconds)  # warm-up
        row = await drive(take_op(limits, tag, tally), args.decisions, args.concurrency, args.seconds)
        row.what, row.note = what, f"{tally[0]} allowed"
        rows.append(row)
        await limits.aclose()
    token_bytes = await _first_size(redis, keys, "sl:tok:")
    day_bytes = await _first_size(redis, keys, "sl:day:")
    print(f"  Redis memory per taken token key ~{token_bytes} B, per shopper-day key ~{day_bytes} B")
    return rows


async def _first_size(redis: Redis, keys: Keys, part: str) -> int:
    async for key in redis.scan_iter(match=key_glob(keys.prefix + part) + "*", count=1000):
        return int(await redis.memory_usage(key) or 0)
    return 0


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(f"  {'what':<40} {'ops':>7} {'ops/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/op':>9}  note")
    for r in rows:
        cpu_us = r.cpu_seconds / r.ops * 1e6 if r.ops else 0.0
        print(f"  {r.what:<40} {r.ops:>7} {r.rate:>9,.0f} {r.quantile(0.5):>7.2f} {r.quantile(0.99):>7.2f}"
              f" {cpu_us:>9.1f}  {r.note}")


def summarise_token_bucket(rows: list[Row]) -> None:
    plain, take = rows[0], rows[1]
    verdict = "met" if take.rate >= BUCKET_TARGET else "NOT met"
    print(f"  take / plain EVALSHA: {take.rate / plain.rate:.2f}x; target >= {BUCKET_TARGET:,} decisions/s: {verdict}")


# ---------------------------------------------------------------------------------------
# 2. outbox throughput into the sandbox's Graph API
# ---------------------------------------------------------------------------------------
OUTBOX_CAP_TARGET = 0.98


async def section_outbox(bench: Bench) -> list[Row]:
    """Notifications through the real send worker into `salebell serve`'s sandbox, over HTTP.

    The sandbox runs in its own process (receipts and the sent log off); shoppers are seeded
    straight into Redis inside their window with an active subscription; the send worker
    (policy, buckets, Graph client, records) runs here. Uncapped, then at the default cap.
    """
    port = free_port()
    env = {**os.environ, "PORT": str(port), "REDIS_URL": bench.args.redis, "FB_PAGE_ID": bench.keys.page_id,
           "WEB_RUNS_WORKERS": "false", "SALEBELL_PLUGINS": "",
           "SALEBELL_DATA_DIR": tempfile.mkdtemp(prefix="salebell-bench-send-")}  # never the checkout's admin token
    server = subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", "serve"], env=env,
                              cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            await _wait_healthy(http, base)
            async with http.post(base + "/sandbox/config",
                                 json={"receipts": False, "sent_log": False, "page_rate_limit": 0}) as r:
                r.raise_for_status()
        rows = []
        for label, rate, jobs in (("uncapped", 0.0, bench.args.outbox_jobs),
                                  ("cap 250/s", 250.0, int(250 * bench.args.outbox_capped_seconds))):
            rows.append(await _outbox_run(bench, base, label, rate, jobs))
        return rows
    finally:
        server.terminate()
        server.wait()


async def _outbox_run(bench: Bench, base: str, label: str, rate: float, jobs: int) -> Row:
    settings = Settings.from_env({"FB_PAGE_ID": bench.keys.page_id, "GRAPH_API_URL": base + "/sandbox/graph",
                                  "REDIS_URL": bench.args.redis}).replace(
        page_send_rate=rate, send_concurrency=bench.args.concurrency)
    campaign = f"bench-{label.replace(' ', '').replace('/', '')}"
    psids = [f"{7 * 10**14 + i + (0 if rate == 0 else 10**9)}" for i in range(jobs)]
    now = int(time.time() * 1000)
    async with bench.redis.pipeline(transaction=False) as pipe:
        for psid in psids:
            pipe.hset(bench.keys.sandbox_shopper(psid), mapping={"created_ms": now, "name": "bench",
                                                                  "timezone": "Asia/Manila", "last_action_ms": now})
            pipe.hset(bench.keys.window, psid, now)
            pipe.hset(bench.keys.subscribers(settings.optin_topic), psid,
                      f"a|{settings.marketing_path}|Asia/Manila|{now}|tok-{psid}")
        await pipe.execute()
    message = payloads.button_template("We're live!", [payloads.web_url_button("Watch now", "https://shop.test/l")])
    runtime = Runtime(settings, bench.redis, role="bench")
    sender = await runtime.open()
    for i in range(0, jobs, 500):
        await runtime.outbox.enqueue_many([
            SendJob(id=f"{campaign}-{p}", purpose="notification", psid=p, topic=settings.optin_topic,
                    message=message, campaign=campaign) for p in psids[i:i + 500]])
    stop = asyncio.Event()
    cpu0, t0 = time.process_time(), time.perf_counter()
    task = asyncio.create_task(sender.run(stop))
    first_sent = last_sent = 0.0
    while True:
        numbers = await runtime.outbox.numbers(campaign=campaign)
        done = sum(v for k, v in numbers.items() if k != "queued" and not k.startswith(("delivered", "read")))
        if numbers.get("sent") and not first_sent:
            first_sent = time.perf_counter()
        if done >= jobs:
            last_sent = time.perf_counter()
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    await runtime.stop()
    elapsed = last_sent - t0
    note = f"sent {numbers.get('sent', 0)}, other {done - numbers.get('sent', 0)}"
    if rate:
        note += f", {numbers.get('sent', 0) / elapsed / rate:.3f} of the cap"
    return Row(f"outbox → sandbox, {label}", jobs, elapsed, [], time.process_time() - cpu0, note)


async def _wait_healthy(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(200):
        try:
            async with http.get(base + "/healthz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("salebell serve did not come up")


def summarise_outbox(rows: list[Row]) -> None:
    capped = rows[1]
    ratio = capped.rate / 250.0
    verdict = "met" if ratio >= OUTBOX_CAP_TARGET else "NOT met"
    print(f"  uncapped: {rows[0].rate:,.0f} messages/s; at the 250/s cap: {capped.rate:,.1f}/s = {ratio:.3f} of the "
          f"cap (target >= {OUTBOX_CAP_TARGET}): {verdict}")


# ---------------------------------------------------------------------------------------
# main(): the section list. To add a section (e.g. 2 "outbox throughput into the
# sandbox"), write `async def section_x(bench: Bench) -> list[Row]` and append it to
# SECTIONS with its title and optional summary function.
# ---------------------------------------------------------------------------------------
Section = tuple[str, str, Callable[[Bench], Awaitable[list[Row]]], Callable[[list[Row]], None] | None]
SECTIONS: list[Section] = [
    ("bucket", "1. token bucket", section_token_bucket, summarise_token_bucket),
    ("outbox", "2. outbox throughput into the sandbox Graph API", section_outbox, summarise_outbox),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis URL (default: REDIS_URL or db 15 on localhost)")
    parser.add_argument("--seconds", type=float, default=20.0, help="cap on each measurement's duration")
    parser.add_argument("--decisions", type=int, default=50_000, help="operations per measurement")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent tasks")
    parser.add_argument("--outbox-jobs", type=int, default=5000, help="notifications in the uncapped outbox run")
    parser.add_argument("--outbox-capped-seconds", type=float, default=10.0, help="length of the run at the cap")
    parser.add_argument("--section", action="append", choices=[s[0] for s in SECTIONS], help="run only these")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    redis = connect(args.redis)
    keys = SandboxKeys(f"bench{secrets.token_hex(6)}")
    print(f"salebell send bench: {args.redis}, Page {keys.page_id}, concurrency {args.concurrency}")
    try:
        for name, title, section, summary in SECTIONS:
            if args.section and name not in args.section:
                continue
            rows = await section(Bench(args, redis, keys))
            print_rows(title, rows)
            if summary:
                summary(rows)
    finally:
        await delete_page_keys(redis, keys)
        await redis.aclose()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
