"""Fan-out scenarios (findings 1, 5, 6, 7, 9): a live sale notifies its subscribers while something fails.

Subscribers are seeded on both sides (the bot's consent ledger and window; Meta's shopper and
token records), the sale is created and started through the admin API, and the outcome is read
from the sandbox's inbox (what reached each subscriber) and the sale's numbers (what the bot says).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.faults.checker import Figures, chat_figures, fanout_figures
from tests.faults.client import FaultClient
from tests.faults.load import now_ms, steady, wait_until
from tests.faults.scenarios_chat import settle_chat

Fault = Callable[[str], Awaitable[None]]


@dataclass
class FanoutRun:
    psids: list[str]
    sale: str
    view: dict[str, Any]
    received: dict[str, int]
    started_ms: int
    completed: bool
    seconds: float


async def sent_at_least(client: FaultClient, sale: str, count: int) -> bool:
    return int((await client.sale(sale))["numbers"]["sent"]) >= count


async def run_fanout(client: FaultClient, count: int, *, fault: Fault | None = None, timeout: float = 30.0,
                     window_open: bool = True) -> FanoutRun:
    """Seed ``count`` subscribers, start a sale, run ``fault(sale)`` alongside, wait until it says complete."""
    psids = await client.seed_subscribers(count, window_open=window_open)
    sale = await client.new_sale()
    loop = asyncio.get_running_loop()
    started, started_ms = loop.time(), now_ms()
    await client.start_sale(sale)
    faults = asyncio.create_task(fault(sale)) if fault else None

    async def complete() -> bool:
        return bool((await client.sale(sale))["fanout"]["complete"]) and (faults is None or faults.done())

    completed = await wait_until(complete, timeout, interval=0.1)
    if faults is not None:
        if not faults.done():
            faults.cancel()
        await asyncio.gather(faults, return_exceptions=True)
    seconds = loop.time() - started
    await asyncio.sleep(0.5)  # a straggler send of a complete sale would show up as a duplicate
    view = await client.sale(sale)
    return FanoutRun(psids, sale, view, await client.inbox_lengths(psids), started_ms, completed, seconds)


def figures_of(name: str, run: FanoutRun, timeout: float, uncertain: set[str] | None = None) -> Figures:
    figures = fanout_figures(name, run.received, run.view, uncertain_ok=uncertain or ())
    figures.max_delay_s = run.seconds
    if not run.completed:
        figures.failures.append(f"the fan-out did not complete within {timeout:g}s")
    return figures


# -- 1: the bot's Redis restarts mid fan-out --------------------------------------------------
async def redis_restart_mid_fanout(client: FaultClient, count: int = 1100, outage: float = 4.0, kill: bool = True,
                                   timeout: float = 45.0) -> Figures:
    """Redis SIGKILLed (or stopped cleanly) for ``outage`` seconds once a tenth of the sale is sent.

    The fan-out queues 1,000 subscribers a batch and waits for the send workers between batches
    (``PAGE_SEND_RATE`` keeps it there for a while), so the outage falls between two batches.
    """
    async def fault(sale: str) -> None:
        await wait_until(lambda: sent_at_least(client, sale, count // 10), timeout, interval=0.05)
        await asyncio.to_thread(client.dep.bot_redis.kill if kill else client.dep.bot_redis.stop)
        await asyncio.sleep(outage)
        await asyncio.to_thread(client.dep.bot_redis.start)

    run = await run_fanout(client, count, fault=fault, timeout=timeout)
    how = "SIGKILLed" if kill else "stopped cleanly"
    return figures_of(f"1 Redis {how} {outage:g}s mid fan-out of {count}", run, timeout)


# -- 5: the Graph API unreachable mid fan-out -----------------------------------------------------
async def graph_outage_mid_fanout(client: FaultClient, count: int = 300, outage: float = 3.0,
                                  timeout: float | None = None) -> Figures:
    """The stand-in refuses connections for ``outage`` seconds once a tenth of the sale is sent."""
    timeout = timeout or outage + 30.0

    async def fault(sale: str) -> None:
        await wait_until(lambda: sent_at_least(client, sale, count // 10), timeout, interval=0.05)
        await client.control("refuse", seconds=outage)
        await asyncio.sleep(outage)

    run = await run_fanout(client, count, fault=fault, timeout=timeout)
    figures = figures_of(f"5 Graph refuses connections {outage:g}s mid fan-out of {count}", run, timeout)
    figures.notes["stand-in"] = await client.standin_counts()
    return figures


# -- 6: a send worker dies mid fan-out ------------------------------------------------------------
ECHO_MODES = {"echoes on": {"echoes": True}, "echoes withheld": {"echoes": False},
              "echoes late": {"echoes": True, "echo_delay_ms": 8000}}  # reclaims come 2 s after a worker dies
# Every other send is held 1 s on its way to Meta, the others 1 s on the way back: a worker killed
# with sends in flight has some that never reached Meta and some that did, unanswered.
IN_FLIGHT = {"before": 1.0, "seconds": 1.0, "alternate": True}


async def in_flight(client: FaultClient, count: int) -> bool:
    return (await client.standin_counts()).get("received", 0) >= count


async def worker_killed_mid_fanout(client: FaultClient, path: str, echoes: str, count: int = 150,
                                   timeout: float = 30.0) -> Figures:
    """A worker SIGKILLed with sends in flight: some not yet at Meta, some at Meta with the answer on its way.

    ``legacy``: the subscribers' window is open, so each notification goes through the Send API
    with the job's id as ``metadata``, which Meta echoes back (a legacy token goes the same way).
    ``marketing_api``: the window is closed, so each goes through the Marketing Message API, which
    takes no metadata; its sends are confirmed by the ``marketing_message_echoes`` webhook. A send
    whose answer was lost is resolved by its echo, else by a look-up in the shopper's thread (Send
    API); the Marketing Message API has no look-up, so there, with echoes withheld, a subscriber not
    notified is excused only if the bot shows the send as uncertain (failed/uncertain) in its numbers.
    """
    await client.control("delay", **IN_FLIGHT)

    async def fault(sale: str) -> None:
        await wait_until(lambda: in_flight(client, min(count // 2, 100)), timeout, interval=0.02)
        await asyncio.to_thread(client.dep.kill_worker, 0)

    run = await run_fanout(client, count, fault=fault, timeout=timeout, window_open=path == "legacy")
    records = await client.job_records(run.sale, run.psids)
    uncertain = {p for p, r in records.items() if r.get("state") == "failed" and r.get("reason") == "uncertain"}
    excused = uncertain if path == "marketing_api" and echoes == "echoes withheld" else set()
    figures = figures_of(f"6 worker SIGKILLed mid fan-out, {path}, {echoes}", run, timeout, excused)
    told_sent = {p for p, r in records.items() if r.get("state") == "sent"}
    figures.notes.update({
        "uncertain recorded": len(uncertain),
        "notified but recorded otherwise": sum(1 for p, n in run.received.items() if n and p not in told_sent),
    })
    claimed = [p for p in told_sent if not run.received.get(p)]
    if claimed:
        figures.failures.append(f"{len(claimed)} recorded sent but never reached Meta")
    return figures


# -- 7: throttling during a fan-out while a shopper chats ---------------------------------------
THROTTLES = ({"code": 4, "status": 400, "message": "(#4) Application request limit reached"},
             {"code": 613, "status": 400, "message": "(#613) Calls to this api have exceeded the rate limit."},
             {"status": 429, "message": "Too Many Requests"})


async def throttled_fanout_while_chatting(client: FaultClient, count: int = 200, window: float = 6.0,
                                          bound: float = 5.0, budget: float = 30.0) -> Figures:
    """Meta throttles (code 4, 613 without a usage header, HTTP 429, each for a third of ``window``)."""
    chatter = await client.shopper("chatter")
    chat = asyncio.create_task(steady(client, [chatter], 4.0, window + 4.0))
    ended: list[int] = []

    async def fault(sale: str) -> None:
        for params in THROTTLES:
            await client.control("error", for_seconds=window / len(THROTTLES) + 0.5, **params)
            await asyncio.sleep(window / len(THROTTLES))
        await client.control("clear")
        ended.append(now_ms())

    run = await run_fanout(client, count, fault=fault, timeout=window + budget)
    sent = await chat
    end_ms = ended[0] if ended else now_ms()
    handled, replies = await settle_chat(client, sent, bound + 5.0)
    chat_part = chat_figures("chat", sent, handled, replies, bound_s=bound,
                             delay_from_ms={s.mid: end_ms for s in sent if s.accepted_ms < end_ms})
    records = await client.job_records(run.sale, run.psids)
    throttled = {p for p, r in records.items() if r.get("state") == "failed" and r.get("reason") == "throttled"}
    figures = figures_of(f"7 throttled (4, 613, 429) {window:g}s mid fan-out of {count}, a shopper chatting",
                         run, window + budget, throttled)
    figures.notes.update({"failed throttled": len(throttled), "chat": chat_part.line().split(": ", 1)[1],
                          "stand-in": await client.standin_counts()})
    figures.failures += [f"chat: {p}" for p in chat_part.problems()]
    figures.bound_s = None
    return figures


# -- 9: delivered and read numbers, no fault -----------------------------------------------------
async def receipts_count_every_send(client: FaultClient, count: int = 300, timeout: float = 30.0) -> Figures:
    """With no fault at all, the sale's delivered and read equal its sent once the receipts came in.

    Meta answers a send in a few hundred milliseconds and its delivery webhook may come sooner:
    the stand-in answers 0.3 s after the sandbox took the message (whose receipts leave at once).
    """
    await client.configure(read_receipts=True)
    await client.control("delay", seconds=0.3)
    run = await run_fanout(client, count, timeout=timeout)

    async def counted() -> bool:
        numbers = (await client.sale(run.sale))["numbers"]
        return bool(numbers["sent"]) and numbers["delivered"] == numbers["sent"] == numbers["read"]

    await wait_until(counted, 5.0)
    run.view = await client.sale(run.sale)
    figures = figures_of(f"9 delivered/read of a fan-out of {count}, no fault", run, timeout)
    numbers = run.view["numbers"]
    figures.notes.update({"delivered": numbers["delivered"], "read": numbers["read"]})
    if not numbers["sent"] == numbers["delivered"] == numbers["read"]:
        figures.failures.append(f"sent {numbers['sent']}, delivered {numbers['delivered']}, read {numbers['read']}")
    return figures
