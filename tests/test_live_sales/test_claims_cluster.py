"""The claim scripts on a three-master Redis Cluster: every key of a Page in its slot, on a node the URL does
not name; claims from many tasks at once, redelivered ones once, stock never below zero."""

from __future__ import annotations

import asyncio
import random
import time

from bot.keys import Keys
from bot.outbox import Outbox
from bot.settings import Settings
from bot.storage import connect
from live_sales.claims import ClaimBook, NewClaim, script_args
from live_sales.products import ProductStore, product_from_json
from tests.support.pages import delete_page_keys
from tests.support.redis_cluster import RedisClusterProcesses, page_on_node


async def test_claims_on_redis_cluster(redis_cluster: RedisClusterProcesses) -> None:
    page_id = page_on_node(2)
    keys = Keys(page_id)
    redis = connect(redis_cluster.url, cluster=True)
    await redis.ping()
    try:
        settings = Settings(page_id=page_id, claim_settle_ms=0)
        products = ProductStore(redis, keys, script_args(keys, settings))
        book = ClaimBook(redis, keys, Outbox(redis, keys), settings)
        assert await products.add("ls-1", [product_from_json({"code": "12", "title": "Jacket", "quantity": 3})]) \
            is None
        claims = [NewClaim(claim_id=f"1_{i:016d}", sale_id="ls-1", code="12", variant="", quantity=1,
                           psid=f"p{i}", name="", comment_ms=1_767_000_000_000 + i * 1000, message="sold 12")
                  for i in range(20)]
        random.Random(3).shuffle(claims)
        outcomes = await asyncio.gather(*(book.record(c) for c in claims), *(book.record(c) for c in claims[:5]))
        assert sorted(o for o, _ in outcomes) == ["duplicate"] * 5 + ["recorded"] * 20
        await book.settle()
        stock, taken = await products.stock("ls-1")
        assert (stock, taken) == ({"12|": 3}, {"12|": 3})
        rows = await book.of_sale("ls-1")
        assert sum(r["status"] == "claimed" for r in rows) == 3
        waiting = [r for r in rows if r["status"] == "waitlisted"]
        # CLAIM_SETTLE_MS=0: each claim is decided as it arrives, so which 3 won depends on the tasks' order;
        # the waitlist is in comment-time order either way
        assert await book.change(waiting[-1]["claim_id"], "released") == ("changed", "waitlisted")
        await redis.hset(keys.window, waiting[1]["psid"], int(time.time() * 1000))  # only the second can be told
        claimed = [r for r in rows if r["status"] == "claimed"]
        assert await book.change(claimed[0]["claim_id"], "cancelled") == ("changed", "claimed")
        assert (await products.stock("ls-1"))[1] == {"12|": 3}  # the unit went down the waitlist
        after = {r["claim_id"]: (r["status"], r["reason"]) for r in await book.of_sale("ls-1")}
        assert after[waiting[0]["claim_id"]] == ("released", "unreachable")
        assert after[waiting[1]["claim_id"]] == ("claimed", None)
        assert after[waiting[2]["claim_id"]] == ("waitlisted", None)
        assert await products.set_stock("ls-1", "12|", 2) == ("below_taken", 3)
        assert await book.pending() == 0
    finally:
        await delete_page_keys(redis, keys)
        await redis.aclose()
