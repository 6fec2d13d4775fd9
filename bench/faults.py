"""The fault suite at scale, run by a person: ``.venv/bin/python bench/faults.py`` (``make bench-faults``).

The same scenarios as ``tests/faults/`` (the same topology: a private redis-server with AOF and
``appendfsync always``, the sandbox on its own Redis, the Graph stand-in, ``serve --web-only`` and
two ``salebell worker`` processes), at 5,000 subscribers and 300 webhooks/s, printing one table of
lost / duplicated / out of order / max delay per scenario. Failures are shown, not raised: the
table is the result. ``--only 1,4`` runs some of them; ``--subscribers`` and ``--rate`` resize.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import scenarios_chat as chat  # noqa: E402
from tests.faults import scenarios_fanout as fanout  # noqa: E402
from tests.faults.checker import Figures  # noqa: E402
from tests.faults.client import FaultClient  # noqa: E402
from tests.faults.deployment import Deployment  # noqa: E402
from tests.support.pages import delete_page_keys  # noqa: E402

# Production-like sending: the default Page cap and batch sizes (the suite's workers use smaller ones).
BENCH_WORKERS = {"SEND_CONCURRENCY": "64", "PAGE_SEND_RATE": "250"}


@dataclass
class Scenario:
    key: str
    run: Callable[[FaultClient, argparse.Namespace], Awaitable[Figures]]
    sandbox: dict[str, object] | None = None
    workers: dict[str, str] | None = None


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    n, rate = args.subscribers, args.rate
    found = [
        Scenario("1", lambda c, a: fanout.redis_restart_mid_fanout(c, n, outage=5.0, kill=True, timeout=240)),
        Scenario("1", lambda c, a: fanout.redis_restart_mid_fanout(c, n, outage=5.0, kill=False, timeout=240)),
        Scenario("2", lambda c, a: chat.malformed_between_normal(c, shopper_count=50, rounds=20, settle=30)),
        Scenario("3", lambda c, a: chat.order_with_two_workers(c, shopper_count=20, messages=30, settle=60)),
        # Each message is answered twice (the dialogue and the history plugin): at 300/s that is 600 sends/s,
        # over any Page cap; the outage's recovery is measured without one, as issue 10 measures speed.
        Scenario("4", lambda c, a: chat.redis_outage_under_load(c, rate=rate, shopper_count=int(rate), before=5,
                                                                 outage=5.0, after=10, settle=60),
                 workers={"PAGE_SEND_RATE": "0"}),
        Scenario("5", lambda c, a: fanout.graph_outage_mid_fanout(c, n, outage=3.0, timeout=240)),
        Scenario("5", lambda c, a: fanout.graph_outage_mid_fanout(c, n, outage=10.0, timeout=240)),
    ]
    for path in ("legacy", "marketing_api"):
        for echoes, config in fanout.ECHO_MODES.items():
            found.append(Scenario("6", lambda c, a, p=path, e=echoes: fanout.worker_killed_mid_fanout(
                c, p, e, count=n, timeout=240), sandbox=config,
                workers={"MARKETING_PATH": path}))  # the Page cap spreads the sends: some in each phase at the kill
    found += [
        Scenario("7", lambda c, a: fanout.throttled_fanout_while_chatting(c, n, window=6.0, bound=5.0, budget=120)),
        Scenario("8", lambda c, a: chat.redis_back_empty(c, bound=5.0, watch=20.0)),
        Scenario("9", lambda c, a: fanout.receipts_count_every_send(c, n, timeout=240)),
    ]
    only = set(args.only.split(",")) if args.only else None
    return [s for s in found if only is None or s.key in only]


def print_table(rows: list[Figures]) -> None:
    print(f"\n{'scenario':<74} {'accepted':>8} {'lost':>5} {'dup':>5} {'order':>5} {'max delay':>9}  verdict")
    for f in rows:
        verdict = "held" if not f.problems() else "FAILED: " + "; ".join(f.problems())
        print(f"{f.scenario[:74]:<74} {f.accepted:>8} {f.lost:>5} {f.duplicated:>5} {f.out_of_order:>5} "
              f"{f.max_delay_s:>8.1f}s  {verdict}")


async def main_async(args: argparse.Namespace) -> None:
    dep = Deployment(Path(tempfile.mkdtemp(prefix="salebell-bench-faults-")), worker_env=BENCH_WORKERS)
    print(f"salebell fault bench: {args.subscribers:,} subscribers, {args.rate:g} webhooks/s; logs in {dep.root}",
          flush=True)
    await asyncio.to_thread(dep.start)
    client = FaultClient(dep)
    rows: list[Figures] = []
    try:
        for scenario in scenarios(args):
            started = time.perf_counter()
            await client.reset(sandbox=scenario.sandbox, workers=scenario.workers)
            try:
                figures = await scenario.run(client, args)
            except Exception as exc:  # a scenario that breaks is a row of the table, not the end of the run
                figures = Figures(f"{scenario.key} (crashed)", 0, failures=[f"{type(exc).__name__}: {exc}"])
            rows.append(figures)
            print(f"  {figures.report()}  [{time.perf_counter() - started:.0f}s]", flush=True)
            await client.control("clear")
    finally:
        await delete_page_keys(client.meta_redis, dep.keys)  # Meta's Redis is shared; the bot's goes with dep
        await client.close()
        await asyncio.to_thread(dep.stop)
    print_table(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=300.0, help="webhooks/s of the Redis outage scenario")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,4")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
