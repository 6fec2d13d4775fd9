"""Several Pages, one deployment: what Redis Cluster buys, measured beside one redis-server in one run.

    .venv/bin/python bench/pages.py [--shoppers 300] [--pages 3]

Three runs of the Procfile's shape in sandbox mode (``serve --web-only`` with each Page's sandbox, and
two ``salebell worker`` processes, ``PAGE_SEND_RATE=0``, the sandbox's Page rate off):

1. one Page on one redis-server;
2. ``--pages`` Pages on one redis-server;
3. the same Pages on a local Redis Cluster of three masters, the Pages on different shards.

In each, ``--shoppers`` new shoppers per Page say "LIVE" at once (the sandbox signs and posts each
webhook) and the run ends when every shopper's opt-in card is in their inbox. Printed: replies/s end
to end, the p50/p99 of the time from the message to its card, CPU seconds of our processes per 1,000
replies, and how Redis's commands spread over its servers (``INFO commandstats`` before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis as redis_sync

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds  # noqa: E402
from tests.support.redis_cluster import RedisClusterProcesses, page_on_node  # noqa: E402
from tests.support.redis_server import RedisProcess  # noqa: E402
from tests.support.topology import Topology, TopologyClient  # noqa: E402


def commands(ports: list[int]) -> list[int]:
    """Commands each server has run so far."""
    counts = []
    for port in ports:
        client = redis_sync.Redis(port=port, socket_timeout=5)
        stats = client.info("commandstats")
        client.close()
        counts.append(sum(int(v["calls"]) for v in stats.values()))
    return counts


async def run(label: str, pages: list[str], env: dict[str, str], ports: list[int], shoppers: int,
              root: Path) -> dict[str, Any]:
    top = Topology(root, {"FB_PAGES": ",".join(pages), "PAGE_SEND_RATE": "0", "WORKER_CONCURRENCY": "64",
                          "SEND_CONCURRENCY": "64", **env})
    await top.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
            c = TopologyClient(http, top)
            bases = ["/sandbox" if n == 0 else f"/sandbox/pages/{p}" for n, p in enumerate(pages)]
            psids: list[tuple[str, str]] = []
            for base in bases:
                await c.call("POST", f"{base}/config", {"page_rate_limit": 0, "read_receipts": False})
                for n in range(shoppers):
                    psids.append((base, str((await c.call("POST", f"{base}/shoppers", {"name": f"S{n}"}))["psid"])))
            before = commands(ports)
            cpu_before = sum(cpu_seconds(p.pid) for p in [top.web, *top.workers] if p is not None)
            start = time.monotonic()

            async def says(base: str, psid: str) -> None:
                await c.call("POST", f"{base}/shoppers/{psid}/messages", {"text": "LIVE"})

            await asyncio.gather(*(says(b, p) for b, p in psids))
            deadline = time.monotonic() + 300
            while await sent(c) < len(psids) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - start
            cpu = sum(cpu_seconds(p.pid) for p in [top.web, *top.workers] if p is not None) - cpu_before
            spread = [a - b for a, b in zip(commands(ports), before, strict=True)]
            waits = sorted([w for b, p in psids if (w := await card_wait(c, b, p)) is not None])
    finally:
        top.stop()
    replies = len(waits)
    return {"label": label, "pages": len(pages), "replies": replies, "of": len(psids),
            "replies_per_s": replies / elapsed if elapsed else 0.0, "p50_s": _at(waits, 0.50),
            "p99_s": _at(waits, 0.99), "cpu_per_1000": cpu / max(1, replies) * 1000, "commands": spread}


def _at(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


async def sent(c: TopologyClient) -> int:
    """Sends the bot counts as done, every Page together (one /metrics call, not one call per shopper)."""
    total = 0.0
    async with c.http.get(c.top.url + "/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith("salebell_sends_total{") and 'outcome="sent"' in line:
                total += float(line.rpartition(" ")[2])
    return int(total)


async def card_wait(c: TopologyClient, base: str, psid: str) -> float | None:
    """Seconds from the shopper's "LIVE" to the opt-in card in their thread (sandbox clock), None if none came."""
    said = card = None
    for m in (await c.call("GET", f"{base}/shoppers/{psid}/thread"))["messages"]:
        if m.get("from") == "shopper" and m.get("text") == "LIVE":
            said = m["timestamp"]
        elif m.get("from") == "page" and "notification_messages" in json.dumps(m.get("message", {})):
            card = m.get("timestamp")
    return (card - said) / 1000 if said and card else None


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shoppers", type=int, default=300, help="new shoppers per Page (default 300)")
    parser.add_argument("--pages", type=int, default=3, help="Pages in runs 2 and 3 (default 3)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="salebell-bench-pages-") as tmp:
        root = Path(tmp)
        single = RedisProcess(root / "redis")
        single.start()
        try:
            one = [page_on_node(0, first_digit="5")]
            results.append(await run("1 Page, redis-server", one, {"REDIS_URL": single.url}, [single.port],
                                     args.shoppers, root / "run1"))
            several = [page_on_node(n % 3, first_digit="5") for n in range(args.pages)]
            results.append(await run(f"{args.pages} Pages, redis-server", several, {"REDIS_URL": single.url},
                                     [single.port], args.shoppers, root / "run2"))
        finally:
            single.stop()
        cluster = RedisClusterProcesses(root / "cluster")
        cluster.start()
        try:
            several = [page_on_node(n % 3, first_digit="4") for n in range(args.pages)]
            results.append(await run(f"{args.pages} Pages, 3-master cluster", several,
                                     {"REDIS_URL": cluster.url, "REDIS_CLUSTER": "true"}, cluster.ports,
                                     args.shoppers, root / "run3"))
        finally:
            cluster.stop()
    print(f"\n{'run':<32} {'replies':>9} {'replies/s':>10} {'p50 s':>7} {'p99 s':>7} {'CPU s/1k':>9}  "
          "Redis commands per server")
    for r in results:
        spread = " / ".join(f"{n:,}" for n in r["commands"])
        print(f"{r['label']:<32} {r['replies']:>4}/{r['of']:<4} {r['replies_per_s']:>10.0f} {r['p50_s']:>7.2f} "
              f"{r['p99_s']:>7.2f} {r['cpu_per_1000']:>9.1f}  {spread}")
    return 0 if all(r["replies"] == r["of"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
