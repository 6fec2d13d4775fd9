"""One ``salebell worker``'s CPU per chat event, on a load stored before it runs: A/B between checkouts.

    .venv/bin/python bench/worker_cpu.py [--n 5000] [--rounds 3] [--variant NAME=PATH ...]

``bench/e2e.py`` measures the deployment beside Bottender, but on this 2-core machine the load
generator, the Graph stand-in, the web process and Redis share the cores with the worker, so its figures
move by ±20 % from run to run. This isolates what issue 10 cuts, the worker's work per event: N signed
"LIVE" bodies from N new shoppers are written to the inbox stream as the webhook writes them, while a
warmed-up worker (production mode, ``PAGE_SEND_RATE=0``) waits; then it splits, handles and sends all of
them to ``../shared/peers/graph_stub.py``. Printed per variant and round: events/s from the first body
to the N-th reply, and the worker's CPU milliseconds per event; then each variant's median.

Each ``--variant`` is a checkout (``git worktree add /tmp/before <rev>``); the rounds alternate between
them so a machine that slows down slows every variant alike. Without ``--variant``: this checkout alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis as redis_sync

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, py_spy  # noqa: E402
from bench.e2e import PAGE, PEERS, Bench  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

PREFIX = "sb:{" + PAGE + "}:"  # bot.keys.Keys.prefix


def stub_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as answer:
        return int(json.loads(answer.read())["sent"])


def bodies(n: int, round_no: int) -> list[bytes]:
    now = int(time.time() * 1000)
    return [json.dumps({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [{
        "sender": {"id": str(7400000000000000 + round_no * 1_000_000 + i)}, "recipient": {"id": PAGE},
        "timestamp": now, "message": {"mid": f"m_cpu_{round_no}_{i}_{time.time_ns()}", "text": "LIVE"}}]}]}).encode()
        for i in range(n)]


def one_round(bench: Bench, checkout: Path, n: int, round_no: int) -> tuple[float, float]:
    """(events/s, worker CPU ms per event) of one worker from ``checkout`` on ``n`` stored bodies."""
    client = redis_sync.Redis(port=bench.redis.port)
    client.flushall()
    env = bench.salebell_env(free_port())  # (a worker serves no HTTP; the setting must still be valid)
    worker = bench.spawn(f"worker-{round_no}", [sys.executable, "-m", "bot", "--log-level", "WARNING", "worker"],
                         env, cwd=checkout)
    try:
        time.sleep(3.0)  # imports, plugins, its loops started and idle
        stored = bodies(n, round_no)
        with bench.profiling([worker]):
            before_sent, cpu0 = stub_count(bench.stub_port), cpu_seconds(worker.pid)
            started = time.monotonic()
            pipe = client.pipeline(transaction=False)
            for body in stored:
                pipe.xadd(PREFIX + "inbox", {"b": body})
            pipe.execute()
            deadline = started + 300
            while (sent := stub_count(bench.stub_port) - before_sent) < n:
                if time.monotonic() > deadline or worker.poll() is not None:
                    log = (bench.root / f"worker-{round_no}.log").read_text()[-2000:]
                    raise RuntimeError(f"round {round_no}: the worker answered {sent} of {n} events; its log "
                                       f"ends:\n{log}")
                time.sleep(0.01)
            elapsed, cpu = time.monotonic() - started, cpu_seconds(worker.pid) - cpu0
        return n / elapsed, cpu * 1000 / n
    finally:
        bench.stop([worker])
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="events per round (default 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant (default 3)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PATH",
                        help="a checkout to measure (repeat to compare; default: this one)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy the worker in each round (as bench/e2e.py --profile)")
    args = parser.parse_args()
    variants = [(v.partition("=")[0], Path(v.partition("=")[2]).resolve()) for v in args.variant] or [("this", ROOT)]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    with tempfile.TemporaryDirectory(prefix="salebell-bench-worker-") as tmp:
        bench = Bench(Path(tmp), args.n, 1)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            spy = py_spy()
            if not spy:
                parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
            bench.profile = (spy, args.profile.resolve())
        bench.stub = bench.spawn("graph-stub", [sys.executable, str(PEERS / "graph_stub.py"), str(bench.stub_port)],
                                 {})
        bench.redis.start()
        try:
            time.sleep(1.0)
            for round_no in range(1, args.rounds + 1):
                for name, path in variants:
                    rate, cpu_ms = one_round(bench, path, args.n, round_no)
                    results[name].append((rate, cpu_ms))
                    print(json.dumps({"variant": name, "round": round_no, "events_per_s": round(rate),
                                      "worker_cpu_ms_per_event": round(cpu_ms, 3)}), flush=True)
        finally:
            bench.stop([bench.stub])
            bench.redis.stop()
    print(f"\n{'variant':<12}{'events/s (median)':>19}{'worker CPU ms/event (median)':>30}{'rounds':>8}")
    for name, rows in results.items():
        print(f"{name:<12}{statistics.median(r for r, _ in rows):>19.0f}"
              f"{statistics.median(c for _, c in rows):>30.3f}{len(rows):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
