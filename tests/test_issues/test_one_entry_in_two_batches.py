"""Issue 8, "nothing twice": a campaign job sent twice after a Redis restart on a busy machine.

Fault scenario 1 (clean stop) under CPU load notified 18-30 of 1,100 subscribers twice. The send
workers' logs showed one stream entry in two batches at once, each of which loaded the job's record
as ``queued`` (or as its own ``sending`` job not yet called) and sent it:

- two workers: one came back from the outage seconds late (its claims not refreshed), the other
  reclaimed its entries while it was retrying them; both loaded the record before either marked it,
  and the mark was not fenced (26 of 26 duplicates of one run);
- one worker: it reclaimed its own entries (their claims had gone stale in the outage) while a batch
  of its own had marked them and waited for the Page's rate; the second batch took them for jobs it
  had marked and never called, and sent them too (30 of 30 duplicates of another run).

Each test builds the interleaving directly on the workers of the process (the reads and reclaims a
worker's loop makes, its batches), instead of hoping a loaded machine makes it: a worker whose loop
is not running is one whose claims go stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.app import create_app
from bot.graph import payloads
from bot.runtime import Runtime
from bot.send_attempt import Held
from bot.send_batch import SendBatch
from bot.send_jobs import REPLIES, SendJob
from bot.sender import SendWorker
from tests.conftest import SandboxBot, bounded, sandbox_settings
from tests.support.redis_server import free_port

RECLAIM_IDLE = 1.0  # sandbox_settings' reclaim_idle_seconds


@pytest.fixture
async def slow_page(serve, redis: Redis, page_id: str) -> AsyncIterator[SandboxBot]:  # type: ignore[no-untyped-def]
    """A Page sending one message a second: a batch of three holds its last two, marked, for seconds."""
    port = free_port()
    settings = sandbox_settings(page_id, port, page_send_rate=1.0)
    runtime = Runtime(settings, redis)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False), port=port)
    yield SandboxBot(client, runtime, settings)
    await bounded(runtime.stop(), "stop the runtime")


@pytest.fixture
async def other_worker(sandbox_bot: SandboxBot, redis: Redis) -> AsyncIterator[SendWorker]:
    """A second send worker of the Page (another process's, as far as Redis can tell)."""
    runtime = Runtime(sandbox_bot.settings, redis)
    yield await runtime.open()
    await bounded(runtime.stop(), "stop the other runtime")


async def shoppers_in_window(bot: SandboxBot, count: int) -> list[str]:
    psids = [await bot.shopper(f"d{i}") for i in range(count)]
    for psid in psids:
        await bot.says(psid, "hi")
    await bot.runtime.drain()
    return psids


def reply(job_id: str, psid: str) -> SendJob:
    return SendJob(id=job_id, purpose="response", psid=psid, message=payloads.text(f"about {job_id}"))


async def texts(bot: SandboxBot, psid: str) -> list[str]:
    return [payloads.summary(m["message"]) for m in await bot.inbox(psid)]


async def send(worker: SendWorker, held: list[Held]) -> None:
    """One batch of the worker's, as its loop runs it (the results written, as the loop goes on to)."""
    await SendBatch(worker._ctx, held).run()


async def test_two_live_workers_holding_one_entry_send_its_job_once(
        sandbox_bot: SandboxBot, other_worker: SendWorker) -> None:
    bot = sandbox_bot
    psid = (await shoppers_in_window(bot, 1))[0]
    first = await bot.runtime.open()
    await bot.runtime.outbox.enqueue(reply("twice-1", psid))
    held = await first._read([REPLIES], 16, None)
    assert len(held) == 1
    await asyncio.sleep(RECLAIM_IDLE + 0.2)  # the first worker is starved: its claim goes stale
    reclaimed = await other_worker._reclaim(16)
    assert [entry.id for entry, _ in reclaimed] == [entry.id for entry, _ in held]
    # both load the record before either marks it
    await asyncio.gather(send(first, held), send(other_worker, reclaimed))
    await first._results.flush()
    await other_worker._results.flush()
    assert await texts(bot, psid) == ["about twice-1"]
    record = await bot.runtime.outbox.record("twice-1")
    assert record is not None and record.state == "sent"
    assert await first.pending() == 0  # the winner acknowledged the entry the other let go of


async def test_a_worker_reclaiming_its_own_stale_entries_sends_none_of_them_again(slow_page: SandboxBot) -> None:
    bot = slow_page
    psids = await shoppers_in_window(bot, 3)
    worker = await bot.runtime.open()
    await bot.runtime.outbox.enqueue_many([reply(f"own-{i}", psid) for i, psid in enumerate(psids)])
    held = await worker._read([REPLIES], 16, None)
    assert len(held) == 3
    batch = asyncio.create_task(send(worker, held))  # all three marked; the last two wait for their slots
    await asyncio.sleep(RECLAIM_IDLE + 0.2)  # its claims go stale meanwhile (as in a Redis outage)
    again = await worker._next(16, block_ms=None)  # what its loop takes next: a reclaim comes first
    if again:
        await send(worker, again)
    await batch
    await worker._results.flush()
    for i, psid in enumerate(psids):
        assert await texts(bot, psid) == [f"about own-{i}"], psid


async def test_a_job_another_worker_marked_since_this_ones_lost_mark_is_left_to_it(
        sandbox_bot: SandboxBot, other_worker: SendWorker) -> None:
    """This worker marked the job, Redis failed before the answer (so it knows it did not call), and the
    other worker, which reclaimed the entry meanwhile, has marked it since: it is the other's to send."""
    bot = sandbox_bot
    psid = (await shoppers_in_window(bot, 1))[0]
    worker = await bot.runtime.open()
    job = reply("lost-mark-1", psid)
    await bot.runtime.outbox.enqueue(job)
    held = await worker._read([REPLIES], 16, None)
    worker._ctx.uncalled.add(job.id)  # its own mark, whose answer Redis never gave
    await bot.runtime.outbox.mark_sending([(job, "psid")], other_worker.name, "2026-12-01")
    await send(worker, held)
    await worker._results.flush()
    assert await texts(bot, psid) == []
    record = await bot.runtime.outbox.record(job.id)
    assert record is not None and record.state == "sending" and record.owner == other_worker.name
