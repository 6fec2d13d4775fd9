"""The fan-out: routes in policy order, stops honoured, once per (sale, shopper), cancel, resume."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from redis.asyncio import Redis

from bot.consent import ConsentStore, Subscription
from bot.keys import Keys
from bot.outbox import Outbox
from bot.send_jobs import SendJob
from bot.settings import Settings
from bot.storage import connect
from live_sales.fanout import LEASE_MS, FanoutRunner
from live_sales.keys import SaleKeys
from live_sales.messages import for_sale
from live_sales.store import BroadcastStore
from tests.support.redis_server import RedisProcess
from tests.test_live_sales.conftest import TITLE, TOPIC, Shop, poll


async def test_each_subscriber_goes_by_window_then_marketing_then_otn_else_skipped(shop: Shop) -> None:
    marketing = await shop.subscriber("Mia")
    otn_only = await shop.otn_holder("Otto")
    # Eve asked for an OTN while we knew nothing of her place (her profile's locale is en_US), then opted
    # in to reminders from Paris: neither her subscription (EU) nor her OTN token (EU) may carry a promotion
    blocked_region = await shop.otn_holder(psid=await shop.new_shopper("Eve", "Europe/Paris"))
    await shop.subscribe([blocked_region])
    no_route = await shop.subscriber("Rei", timezone="Europe/Rome")
    stopped = await shop.subscriber("Stu")
    await shop.call("POST", f"/sandbox/shoppers/{stopped}/notifications", {"title": TITLE, "action": "stop"})
    await shop.advance(25 * 3600)  # every window closes ...
    window = await shop.subscriber("Wendy")  # ... except Wendy's, who chats now
    await shop.says(stopped, "hello again")  # a stop wins even inside the window
    await shop.runtime.drain()
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    vias = {psid: [m["via"] for m in await shop.received(psid)]
            for psid in (window, marketing, otn_only, blocked_region, no_route, stopped)}
    assert vias == {window: ["psid"], marketing: ["marketing_api"], otn_only: ["one_time_notif_token"],
                    blocked_region: [], no_route: [], stopped: []}
    [wendy] = await shop.received(window)
    assert wendy["messaging_type"] == "UPDATE"
    [mia] = await shop.received(marketing)
    assert mia["message"]["attachment"]["payload"]["template_type"] == "generic"  # the Marketing Message API body
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]
    assert numbers["eligible"] == 6 and numbers["queued"] == 6 and numbers["sent"] == 3
    assert numbers["skipped"] == {"region": 2, "token_stopped": 1}
    records = {p: await shop.runtime.outbox.record(f"{sale}.{p}") for p in (window, marketing, otn_only)}
    assert [r.via for r in records.values() if r] == ["psid", "marketing_api", "otn"]


async def test_two_sales_on_one_day_respect_the_per_day_rule(shop: Shop) -> None:
    psid = await shop.subscriber()
    first, second = await shop.sale("Morning"), await shop.sale("Evening", url="https://shop.test/evening")
    for sale in (first, second):
        await shop.api("POST", f"/api/live-sales/{sale}/start")
        await shop.settle()
    assert len(await shop.received(psid, "shop.test")) == 1
    assert (await shop.api("GET", f"/api/live-sales/{second}"))["numbers"]["skipped"] == {"frequency": 1}
    await shop.advance(26 * 3600)
    third = await shop.sale("Tomorrow", url="https://shop.test/tomorrow")
    await shop.api("POST", f"/api/live-sales/{third}/start")
    await shop.settle()
    assert [m["via"] for m in await shop.received(psid, "shop.test/tomorrow")] == ["marketing_api"]


async def test_the_numbers_equal_what_the_sandbox_recorded(shop: Shop) -> None:
    shoppers = [await shop.subscriber(f"n{i}") for i in range(4)]
    await shop.advance(25 * 3600)
    shoppers += [await shop.subscriber(f"w{i}") for i in range(3)]
    stopped = shoppers[0]
    await shop.call("POST", f"/sandbox/shoppers/{stopped}/notifications", {"title": TITLE, "action": "stop"})
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    received = Counter({psid: len(await shop.received(psid)) for psid in shoppers})
    assert set(received.values()) == {0, 1} and received[stopped] == 0

    async def receipts_in() -> bool:
        await shop.runtime.drain()
        numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]
        return bool(numbers["read"] == numbers["delivered"] == numbers["sent"])

    await poll(receipts_in, what="delivery and read receipts")  # batched ~100 ms after the sends
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]
    assert numbers["sent"] == sum(received.values()) == 6
    accepted = [s for s in await shop.sent() if s["api"] in ("send", "marketing") and s["status"] == 200
                and "shop.test/live" in json.dumps(s["request"])]
    assert len(accepted) == 6
    assert numbers["skipped"] == {"token_stopped": 1} and numbers["failed"] == {}
    day = (await shop.api("GET", "/api/stats?days=7"))["days"][0]
    assert day["sent"] >= 6 and day["delivered"] == day["read"] == day["sent"]


async def test_cancel_stops_queuing_and_skips_what_is_queued(shop: Shop, redis: Redis, keys: Keys) -> None:
    shoppers = [await shop.subscriber(f"c{i}") for i in range(3)]
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    assert await shop.domain.runner.run_pending() == 1  # queued, not sent yet
    answer = await shop.api("POST", f"/api/live-sales/{sale}/cancel")
    assert answer == {"cancelled": False, "campaign": sale}  # nothing left to queue; the queued are skipped
    await shop.settle()
    assert [await shop.received(p) for p in shoppers] == [[], [], []]
    assert (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]["skipped"] == {"cancelled": 3}
    blast = await shop.api("POST", "/api/broadcasts", {"text": "Flash deal at 9"}, status=202)
    assert (await shop.api("POST", f"/api/broadcasts/{blast['id']}/cancel"))["cancelled"] is True
    await shop.settle()
    view = await shop.api("GET", f"/api/broadcasts/{blast['id']}")
    assert view["fanout"]["state"] == "cancelled" and view["numbers"]["queued"] == 0
    assert not await redis.sismember(SaleKeys.of(keys).fanouts_active, blast["id"])


async def test_a_fan_out_left_by_a_dead_process_resumes_without_duplicates(shop: Shop, redis: Redis,
                                                                           keys: Keys) -> None:
    """A process took the lease, queued part of a batch and died: another resumes after the lease expires."""
    shoppers = [await shop.subscriber(f"d{i}") for i in range(4)]
    sale = await shop.sale()
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await redis.set(SaleKeys.of(keys).fanout_lease(sale), "dead-process", px=300)
    notification = for_sale((await shop.domain.sales.get(sale)))  # type: ignore[arg-type]
    await shop.runtime.outbox.enqueue_many([  # what the dead process queued before dying
        SendJob(id=f"{sale}.{p}", purpose="notification", psid=p, topic=TOPIC, campaign=sale,
                message=notification.message) for p in shoppers[:2]])
    assert await shop.domain.runner.run_pending() == 0  # its lease still holds
    await poll(lambda: _gone(redis, SaleKeys.of(keys).fanout_lease(sale)), timeout=LEASE_MS / 1000, what="the lease to expire")
    await shop.settle()
    for psid in shoppers:
        assert len(await shop.received(psid)) == 1
    numbers = (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]
    assert (numbers["eligible"], numbers["queued"], numbers["sent"]) == (4, 4, 4)


async def test_a_fan_out_of_300_subscribers_completes_exactly_once(shop: Shop, redis: Redis) -> None:
    psids = [await shop.shopper(f"b{i}") for i in range(300)]
    for chunk in range(0, 300, 50):
        await asyncio.gather(*(shop.says(p, "hi") for p in psids[chunk:chunk + 50]))
    now = (await shop.call("GET", "/sandbox/clock"))["now_ms"]
    for psid in psids:  # the ledger's own API: an opt-in on record, the window open
        await shop.runtime.consent.opt_in(psid, TOPIC, f"tok-{psid}", path="marketing_api", timezone="Asia/Manila",
                                          at_ms=now)
    blast = await shop.api("POST", "/api/broadcasts", {"text": "Restock at 9!", "url": "https://shop.test/restock",
                                                      "button_title": "Shop now"}, status=202)
    await shop.settle(timeout=60)
    counts = Counter([len(await shop.received(p, "shop.test/restock")) for p in psids])
    assert counts == {1: 300}
    view = await shop.api("GET", f"/api/broadcasts/{blast['id']}")
    assert view["fanout"]["complete"] and view["numbers"]["sent"] == view["numbers"]["eligible"] == 300
    assert await shop.domain.runner.run_pending() == 0  # nothing left, nothing queued again


async def _gone(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)


async def test_a_fan_out_resumed_after_a_redis_restart_queues_every_subscriber_once(
        tmp_path, settings: Settings, keys: Keys) -> None:
    """Issue 8, finding 1: a stored HSCAN cursor means nothing after a restart (the hash is rebuilt
    with a new seed), so a resumed fan-out skipped about a quarter of its subscribers."""
    server = RedisProcess(tmp_path)
    server.start()
    redis = connect(server.url)
    try:
        outbox = Outbox(redis, keys)
        psids = [f"77{n:06d}" for n in range(3000)]
        async with redis.pipeline(transaction=False) as pipe:
            for psid in psids:
                pipe.hset(keys.subscribers(TOPIC), psid,
                          Subscription(psid, TOPIC, "active", f"tok-{psid}", "marketing_api", "Asia/Manila", 1).pack())
            await pipe.execute()
        blast = await BroadcastStore(redis, keys).create(topic=TOPIC, text="Restock!", url="https://shop.test/r",
                                                         button_title="Shop", now_ms=1)
        runner = FanoutRunner(redis, keys, outbox, settings.replace(page_send_rate=0), "runner-1", batch=400)
        await runner.run_pending(max_batches=2)  # 800 queued, then the process stops
        server.stop()  # Redis restarts: every hash is rebuilt from the append-only file
        server.start()
        await redis.connection_pool.disconnect()  # the pooled connections died with the old server
        await runner.run_pending()
        queued = await outbox.records([f"{blast.id}.{p}" for p in psids])
        assert sum(r is None for r in queued) == 0  # nobody skipped
        numbers = await outbox.numbers(campaign=blast.id)
        assert numbers["queued"] == len(psids)  # nobody queued twice
        fanout = {k.decode(): v.decode() for k, v in (await redis.hgetall(SaleKeys.of(keys).fanout(blast.id))).items()}
        assert (fanout["state"], fanout["eligible"]) == ("done", str(len(psids)))
        assert not await redis.exists(SaleKeys.of(keys).fanout_recipients(blast.id))  # the snapshot goes with the fan-out
    finally:
        await redis.aclose()
        server.stop()
