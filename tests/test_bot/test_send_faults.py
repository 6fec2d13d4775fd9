"""The send side under faults (issue 8): Redis and Graph API outages, a lost consumer group, receipts.

Every test runs the bot with its workers in the background against the sandbox over real HTTP,
and checks the history afterwards: each job recorded once, each message in the shopper's inbox once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.runtime import Runtime
from bot.sandbox import create_sandbox_app
from bot.sandbox.keys import SandboxKeys
from bot.storage import connect
from tests.conftest import TOPIC, SandboxBot
from tests.support.redis_server import RedisProcess
from tests.support.sending import (
    Serve,
    bot_settings,
    final_records,
    new_port,
    notification,
    reply,
    start_bot,
    wait_for,
)


async def shoppers_in_window(bot: SandboxBot, redis: Redis, keys: Keys, count: int) -> list[str]:
    """``count`` sandbox shoppers who each said hi, their windows open in the bot's Redis."""
    psids = [await bot.shopper(f"s{i}") for i in range(count)]
    for psid in psids:
        await bot.says(psid, "hi")
    await wait_for(lambda: _all_in_window(redis, keys, psids), "the shoppers' windows")
    return psids


async def _all_in_window(redis: Redis, keys: Keys, psids: list[str]) -> bool:
    return all(await redis.hmget(keys.window, psids))


async def inbox_counts(bot: SandboxBot, psids: list[str]) -> Counter[str]:
    return Counter({p: len(await bot.inbox(p)) for p in psids})


@dataclass
class OwnRedisBot:
    """The bot with workers on a Redis of its own (stopped and started by the test), Meta (the
    sandbox) on the suite's Redis, so the bot's outage leaves Meta up."""

    private: RedisProcess
    redis: Redis
    runtime: Runtime
    meta: SandboxBot  # shopper and sent-log calls go to the sandbox


@asynccontextmanager
async def bot_on_its_own_redis(tmp_path: Path, redis: Redis, serve: Serve, page_id: str,
                               **env: str) -> AsyncIterator[OwnRedisBot]:
    private = RedisProcess(tmp_path)
    private.start()
    bot_redis = connect(private.url)
    sandbox_port, bot_port = new_port(), new_port()
    settings = bot_settings(page_id, bot_port, GRAPH_API_URL=f"http://127.0.0.1:{sandbox_port}/sandbox/graph", **env)
    sandbox_client = await serve(create_sandbox_app(settings, redis), port=sandbox_port)
    runtime = Runtime(settings.replace(sandbox=False), bot_redis)
    client = await serve(create_app(settings.replace(sandbox=False), bot_redis, runtime=runtime, run_workers=True),
                         port=bot_port)
    try:
        yield OwnRedisBot(private, bot_redis, runtime, SandboxBot(sandbox_client, runtime, settings))
    finally:
        await client.close()
        await bot_redis.aclose()
        private.stop()


# -- finding 4: a Redis blip mid-batch ---------------------------------------------------------


async def test_a_redis_outage_mid_batch_records_every_job_once_and_sends_nothing_twice(
        tmp_path: Path, redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    """Meta (the sandbox, on the suite's Redis) keeps answering while the bot's own Redis is down for 2 s."""
    async with bot_on_its_own_redis(tmp_path, redis, serve, page_id, PAGE_SEND_RATE="40") as own:
        meta, runtime = own.meta, own.runtime
        await meta.call("POST", "/sandbox/config", {"echoes": False, "receipts": False})  # no rescue by echoes
        psids = await shoppers_in_window(meta, own.redis, keys, 40)
        jobs = [reply(f"blip-{p}-{n}", p, f"part {n}", campaign="blip") for p in psids for n in range(2)]
        await runtime.outbox.enqueue_many(jobs)
        await wait_for(lambda: _sends_at_least(meta, 10), "the first sends")
        own.private.stop()  # mid-batch: some calls of the batch are answered, others not yet made
        await asyncio.sleep(2)
        own.private.start()
        # nothing waits for a reclaim (30 s here): every job is recorded well before that
        records = await wait_for(lambda: final_records(meta, [j.id for j in jobs]), "every job's outcome", 20)
        assert Counter(r.state for r in records.values()) == {"sent": len(jobs)}
        assert (await runtime.outbox.numbers(campaign="blip"))["sent"] == len(jobs)  # each counted once
        assert await inbox_counts(meta, psids) == Counter({p: 2 for p in psids})  # nothing sent twice or lost


async def _sends_at_least(bot: SandboxBot, count: int) -> bool:
    return sum(1 for s in await bot.sent() if s["api"] == "send" and s["status"] == 200) >= count


async def test_a_finished_job_is_recorded_without_waiting_for_its_slower_siblings(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    """One job of a batch waits (up to 5 s) for a predecessor that never finishes; the others are recorded at once."""
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port()))
    psids = await shoppers_in_window(bot, redis, keys, 4)
    await redis.hset(keys.send_record("ghost"), "state", "queued")  # queued somewhere, never finishing
    await redis.expire(keys.send_record("ghost"), 600)
    slow = reply("slow", psids[0], "second part", after="ghost")
    quick = [reply(f"quick-{p}", p) for p in psids[1:]]
    await bot.runtime.outbox.enqueue_many([slow, *quick])  # one batch
    await wait_for(lambda: final_records(bot, [j.id for j in quick]), "the quick jobs' outcomes")
    record = await bot.runtime.outbox.record("slow")
    assert record is not None and record.state not in ("sent", "failed", "skipped")  # still waiting its turn
    await redis.hset(keys.send_record("ghost"), "state", "sent")  # its predecessor is done: it goes now
    records = await wait_for(lambda: final_records(bot, ["slow"]), "the slow job's outcome")
    assert records["slow"].state == "sent"


# -- finding 5: a Graph API network blip -------------------------------------------------------


async def graph_forwarder(serve: Serve, port: int, target: str) -> None:
    """Relay every request on ``port`` to ``target`` (the sandbox's Graph API): Meta coming back."""
    session = ClientSession()

    async def relay(request: web.Request) -> web.Response:
        async with session.request(request.method, target + request.path_qs, data=await request.read(),
                                   headers={k: v for k, v in request.headers.items() if k.lower() != "host"}) as r:
            return web.Response(status=r.status, body=await r.read(), headers={
                k: v for k, v in r.headers.items() if k.lower() in ("content-type", "x-business-use-case-usage")})

    async def close(_: web.Application) -> None:
        await session.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    app.on_cleanup.append(close)
    await serve(app, port=port)


async def test_a_graph_api_that_refuses_connections_for_a_few_seconds_loses_nothing(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    port, graph_port = new_port(), new_port()  # nobody listens on graph_port yet
    bot = await start_bot(serve, redis, bot_settings(
        page_id, port, GRAPH_API_URL=f"http://127.0.0.1:{graph_port}/sandbox/graph"))
    psids = await shoppers_in_window(bot, redis, keys, 20)
    jobs = [reply(f"net-{p}", p) for p in psids]
    await bot.runtime.outbox.enqueue_many(jobs)
    await asyncio.sleep(2.5)  # every attempt so far was refused
    await graph_forwarder(serve, graph_port, bot.url)
    records = await wait_for(lambda: final_records(bot, [j.id for j in jobs]), "every job's outcome", 40)
    assert Counter(r.state for r in records.values()) == {"sent": len(jobs)}
    assert await inbox_counts(bot, psids) == Counter({p: 1 for p in psids})


async def test_a_graph_api_that_never_comes_back_fails_the_job_after_its_budget_and_gives_back_its_limits(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(
        page_id, new_port(), GRAPH_API_URL=f"http://127.0.0.1:{new_port()}/sandbox/graph", SEND_RETRY_SECONDS="3"))
    [psid] = await shoppers_in_window(bot, redis, keys, 1)
    await bot.runtime.consent.opt_in(psid, TOPIC, "tok-1", path="marketing_api", timezone="Asia/Manila",
                                     at_ms=1)
    await bot.runtime.outbox.enqueue(notification("gone", psid, "sale"))  # counts the shopper's day when taken
    records = await wait_for(lambda: final_records(bot, ["gone"]), "the job's outcome", 30)
    assert (records["gone"].state, records["gone"].reason) == ("failed", "network")
    assert int(await redis.hget(keys.send_record("gone"), "attempts") or 0) >= 2  # retried, not failed at once
    assert await bot.runtime.limits.sends_today(psid) == 0  # nothing left, so nothing stays counted


# -- finding 8 (outbox half): Redis comes back empty -------------------------------------------


async def test_a_lost_outbox_stream_and_group_are_recreated_under_a_running_worker(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port()))
    ana, ben = await shoppers_in_window(bot, redis, keys, 2)
    await bot.runtime.outbox.enqueue(reply("before", ana))
    await wait_for(lambda: final_records(bot, ["before"]), "the first job")
    await redis.delete(keys.outbox)  # the stream and its consumer group are gone, as on an empty Redis
    await asyncio.sleep(0.5)  # the worker meets the missing group
    await bot.runtime.outbox.enqueue(reply("after", ben))
    records = await wait_for(lambda: final_records(bot, ["after"]), "the job queued after the loss", 10)
    assert records["after"].state == "sent"


# -- finding 9: receipts counted from the moment of sending ------------------------------------


async def test_delivered_and_read_equal_sent_for_a_fan_out_with_no_fault(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port(), PAGE_SEND_RATE="50"))
    psids = await shoppers_in_window(bot, redis, keys, 50)
    for psid in psids:
        await bot.runtime.consent.opt_in(psid, TOPIC, f"tok-{psid}", path="marketing_api", timezone="Asia/Manila",
                                         at_ms=1)
    await bot.runtime.outbox.enqueue_many([notification(f"fan.{p}", p, "fan") for p in psids])

    async def counted() -> dict[str, int] | None:
        numbers = await bot.runtime.outbox.numbers(campaign="fan")
        settled = numbers.get("sent") == 50 and numbers.get("read", 0) >= numbers.get("delivered", 0) > 0
        return numbers if settled and await redis.llen(SandboxKeys.of(keys).sandbox_receipts) == 0 else None

    await wait_for(counted, "every send and its receipts", 30)
    await asyncio.sleep(1)  # the last receipts reach the bot and are counted
    numbers = await bot.runtime.outbox.numbers(campaign="fan")
    assert (numbers["sent"], numbers.get("delivered"), numbers.get("read")) == (50, 50, 50)


# -- finding 3 after finding 4: order across an outage --------------------------------------------


async def test_after_a_redis_outage_a_reply_never_overtakes_the_one_its_live_worker_still_holds(
        tmp_path: Path, redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    """The reply before it was marked sending more than ``STUCK_MS`` ago by a worker that met the outage
    before its call and still holds it: a worker that has just met the outage too must not take it for
    a dead worker's job and send past it (3 reply inversions in a CI run of fault scenario 4)."""
    async with bot_on_its_own_redis(tmp_path, redis, serve, page_id) as own:
        bot_redis, runtime, meta = own.redis, own.runtime, own.meta
        psid = (await shoppers_in_window(meta, bot_redis, keys, 1))[0]
        seconds, micros = await bot_redis.time()
        before = keys.send_record("held-by-a-live-worker")
        await bot_redis.hset(before, mapping={"state": "sending", "sent_at": seconds * 1000 + micros // 1000 - 6_000,
                                              "owner": "worker-elsewhere"})
        own.private.stop()
        await asyncio.sleep(1.0)
        own.private.start()
        await runtime.outbox.enqueue_many([reply("next", psid, "second", after="held-by-a-live-worker")])
        await asyncio.sleep(1.0)  # the live worker is back: it renews its liveness key
        await bot_redis.set(keys.send_worker_alive("worker-elsewhere"), "1", ex=60)
        await asyncio.sleep(4.0)  # well past the outage: a live worker's job is waited for, however long
        record = await runtime.outbox.record("next")
        assert record is not None and record.state not in ("sent", "failed", "skipped")
        await bot_redis.hset(before, "state", "sent")  # its worker sent it: now this one goes
        records = await wait_for(lambda: final_records(meta, ["next"]), "the reply's outcome")
        assert records["next"].state == "sent"


async def test_a_reply_waits_for_a_live_workers_job_and_passes_a_dead_workers(
        redis: Redis, serve: Serve, page_id: str, keys: Keys) -> None:
    """Fault scenario 7 at 5,000 subscribers: a reply marked sending by a live worker waited over 5 s
    for the Page's rate and pause, and the next one, taking it for a dead worker's, went first (16
    reply inversions). Liveness now decides: a live worker's job is waited for, a dead one's passed."""
    bot = await start_bot(serve, redis, bot_settings(page_id, new_port()))
    psids = await shoppers_in_window(bot, redis, keys, 2)
    seconds, micros = await redis.time()
    long_ago = seconds * 1000 + micros // 1000 - 20_000
    await redis.hset(keys.send_record("live-one"), mapping={"state": "sending", "sent_at": long_ago,
                                                             "owner": "worker-live"})
    await redis.set(keys.send_worker_alive("worker-live"), "1", ex=60)
    await redis.hset(keys.send_record("dead-one"), mapping={"state": "sending", "sent_at": long_ago,
                                                             "owner": "worker-dead"})
    for record in ("live-one", "dead-one"):
        await redis.expire(keys.send_record(record), 600)
    await bot.runtime.outbox.enqueue_many([reply("behind-live", psids[0], after="live-one"),
                                           reply("behind-dead", psids[1], after="dead-one")])
    records = await wait_for(lambda: final_records(bot, ["behind-dead"]), "the reply behind the dead worker's job")
    assert records["behind-dead"].state == "sent"
    await asyncio.sleep(1.5)
    waiting = await bot.runtime.outbox.record("behind-live")
    assert waiting is not None and waiting.state not in ("sent", "failed", "skipped")
    await redis.hset(keys.send_record("live-one"), "state", "sent")
    records = await wait_for(lambda: final_records(bot, ["behind-live"]), "the reply behind the live worker's job")
    assert records["behind-live"].state == "sent"
