"""Redis round trips of one chat event, webhook to sent: ``.venv/bin/python bench/round_trips.py [--events 5]``.

Issue 10's target: ≤ 12 Redis round trips per chat event. ``serve --web-only`` and one ``worker`` run in
production mode against ``../shared/peers/graph_stub.py`` on a private redis-server (as ``bench/e2e.py``);
``MONITOR`` records every command while one signed "LIVE" from a new shopper goes from the webhook to the
stub, one event at a time, and the same length of idle time is recorded once to subtract what the
background loops (heartbeats, pollers) do anyway.

A round trip is one read of a client's commands by Redis: consecutive ``MONITOR`` lines from the same
client connection with no other client's line between them and less than ``--gap-us`` between them (a
pipeline arrives in one read and is run back to back; a client's next round trip waits for the answer
of the one before, which on loopback with Python on both ends takes far longer). Commands a script runs
(``[0 lua]``) belong to its EVALSHA, and the gap after a script is counted from its last command (a
pipeline's commands after a script start later by the script's run time, not by a round trip). Only the
lines between the webhook's POST and the stub's receipt of the reply count, less the idle round-trip rate
over that span. Printed: round trips per event, the
commands seen, the milliseconds from webhook to sent, and the idle rate subtracted.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e import PAGE, PEERS, SECRET, Bench, wait_http  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

LINE = re.compile(r'^(\d+\.\d+) \[\d+ ([^\]]+)\] "([A-Za-z]+)"')


@dataclass
class Trips:
    trips: Counter[str]  # per client address
    commands: Counter[str]


def count(lines: list[str], gap_us: float, since: float = 0.0, until: float = float("inf")) -> Trips:
    """Round trips and commands per client among the lines timed in ``[since, until]`` (epoch seconds)."""
    trips: Counter[str] = Counter()
    commands: Counter[str] = Counter()
    last_client, last_at = "", 0.0
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        at, client, _ = float(match[1]), match[2], match[3]
        if client == "lua":  # a script's own command: the gap to the next one is counted from its end
            last_at = max(last_at, at)
            continue
        if not since <= at <= until:
            continue
        commands[client] += 1
        if client != last_client or (at - last_at) * 1e6 > gap_us:
            trips[client] += 1
        last_client, last_at = client, at
    return Trips(trips, commands)


def named(line: str, command: str) -> str:
    """A command as ``show`` prints it: a script call with its first key (what it works on) after the Page's tag."""
    if command not in ("EVALSHA", "EVAL"):
        return command
    parts = line.split('" "')
    key = parts[3].rstrip('"') if len(parts) > 3 else ""
    return f"{command}({key.rpartition('}')[2] or key})"


def show(lines: list[str], gap_us: float, since: float, until: float) -> None:
    """One event's round trips as read (what ``count`` counts), one per line: when, client, commands."""
    print(f"-- event posted at {since:.6f}, its reply at the stub by {until:.6f}")
    trip: list[str] = []
    last_client, last_at, started = "", 0.0, 0.0
    for line in lines:
        match = LINE.match(line)
        if match and match[2] == "lua":
            last_at = max(last_at, float(match[1]))
        if not match or match[2] == "lua" or not since <= float(match[1]) <= until:
            continue
        at, client, command = float(match[1]), match[2], match[3]
        if trip and (client != last_client or (at - last_at) * 1e6 > gap_us):
            print(f"  +{(started - since) * 1000:7.2f} ms  {last_client:<22} {' '.join(trip)}")
            trip = []
        if not trip:
            started = at
        trip.append(named(line, command.upper()))
        last_client, last_at = client, at
    if trip:
        print(f"  +{(started - since) * 1000:7.2f} ms  {last_client:<22} {' '.join(trip)}")


def monitor(port: int, seconds: float, during: object = None) -> list[str]:
    """``MONITOR`` lines for ``seconds``; ``during()`` runs once the monitor is attached."""
    proc = subprocess.Popen(["redis-cli", "-p", str(port), "monitor"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    try:
        if callable(during):
            during()
        time.sleep(seconds)
    finally:
        proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out.splitlines()[1:]  # the first line is MONITOR's "OK"


def stub_count(stub_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{stub_port}/count", timeout=5) as answer:
        return int(json.loads(answer.read())["sent"])


def send_live(url: str, stub_port: int, shopper: int, timeout: float) -> tuple[float, float]:
    """A signed "LIVE" from a new shopper (as ``loadgen.py`` builds it); (epoch seconds it was posted, and
    when the stub had its reply)."""
    now = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [{
        "sender": {"id": str(7300000000000000 + shopper)}, "recipient": {"id": PAGE}, "timestamp": now,
        "message": {"mid": f"m_trips_{shopper}_{time.time_ns()}", "text": "LIVE"}}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    before, started, posted = stub_count(stub_port), time.monotonic(), time.time()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                              "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200, answer.status
    while stub_count(stub_port) <= before:
        if time.monotonic() - started > timeout:
            raise RuntimeError("no reply reached the Graph stub")
        time.sleep(0.002)
    return posted, time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5, help="events measured, one at a time (default 5)")
    parser.add_argument("--window", type=float, default=1.5, help="seconds recorded per event (default 1.5)")
    parser.add_argument("--gap-us", type=float, default=40.0, help="most µs between commands of one read")
    parser.add_argument("--show", action="store_true", help="print each event's round trips: client, commands")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="salebell-bench-trips-") as tmp:
        bench = Bench(Path(tmp), 1, 1)
        stub = bench.spawn("graph-stub", [sys.executable, str(PEERS / "graph_stub.py"), str(bench.stub_port)], {})
        bench.redis.start()
        port = free_port()
        bot = [sys.executable, "-m", "bot", "--log-level", "WARNING"]
        procs = [bench.spawn("web", [*bot, "serve", "--web-only"], bench.salebell_env(port)),
                 bench.spawn("worker", [*bot, "worker"], bench.salebell_env(port))]
        try:
            wait_http(f"http://127.0.0.1:{bench.stub_port}/count")
            wait_http(f"http://127.0.0.1:{port}/healthz")
            time.sleep(2.0)
            webhook = f"http://127.0.0.1:{port}/webhook"
            send_live(webhook, bench.stub_port, 0, 10)  # warm: scripts loaded, caches filled
            time.sleep(1.0)
            idle = count(monitor(bench.redis.port, args.window), args.gap_us)
            per_event: list[Trips] = []
            spans: list[float] = []
            for n in range(1, args.events + 1):
                span: list[tuple[float, float]] = []
                lines = monitor(bench.redis.port, args.window,
                                lambda n=n: span.append(send_live(webhook, bench.stub_port, n, args.window)))
                (since, until), = span
                spans.append(until - since)
                per_event.append(count(lines, args.gap_us, since, until))
                if args.show:
                    show(lines, args.gap_us, since, until)
        finally:
            bench.stop([*procs, stub])
            bench.redis.stop()

    idle_rate = sum(idle.trips.values()) / args.window  # the loops' round trips per second, event or not
    trips = [round(sum(t.trips.values()) - idle_rate * span, 1) for t, span in zip(per_event, spans)]
    cmds = [sum(t.commands.values()) for t in per_event]
    print(json.dumps({"events": args.events, "round_trips": trips, "commands_seen": cmds,
                      "ms_webhook_to_sent": [round(s * 1000, 1) for s in spans],
                      "idle_round_trips_per_s": round(idle_rate, 1)}))
    print(f"\nRedis round trips per chat event (webhook to sent, web + worker, idle loops subtracted): "
          f"median {sorted(trips)[len(trips) // 2]}, range {min(trips)}–{max(trips)} (target ≤ 12)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
