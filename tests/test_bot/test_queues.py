"""A shopper's queue on real Redis: completing the handled head hands over the next one in the same step."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.keys import Keys
from bot.queues import Completed, Queued, ShopperQueues


def queued(shopper: str, n: int) -> Queued:
    return Queued(ordering_key=f"u:{shopper}", dedupe_key=f"mid:q{shopper}-{n}", payload=f'{{"n":{n}}}',
                  item_id=f"1-0.{n}")


async def test_complete_returns_the_next_head_while_the_lease_is_kept(redis: Redis, keys: Keys) -> None:
    queues = ShopperQueues(redis, keys)
    assert await queues.enqueue([queued("42", n) for n in range(3)]) == 3
    claimed, _ = await queues.claim("c1", 10)
    assert [lease.ordering_key for lease in claimed] == ["u:42"]
    head = claimed[0].head  # read by the claim itself
    assert head is not None and (head.item_id, head.payload) == ("1-0.0", b'{"n":0}')

    after = await queues.complete("u:42", "c1", "events_total|message", head.item_id, keep=True)
    assert after.left == 2
    assert after.next is not None and (after.next.item_id, after.next.payload) == ("1-0.1", b'{"n":1}')
    again = await queues.complete("u:42", "c1", "events_total|message", head.item_id, keep=True)  # a retry
    assert again.left == 2 and again.next == after.next  # popped nothing twice

    last = await queues.complete("u:42", "c1", "events_total|message", after.next.item_id, keep=False)
    assert (last.left, last.next) == (1, None)  # the lease is given back: the next holder reads its head
    assert await queues.complete("u:42", "c1", "", "1-0.2", keep=True) == Completed(-1, None)


async def test_a_claim_reads_each_leased_head_and_none_for_an_empty_queue(redis: Redis, keys: Keys) -> None:
    queues = ShopperQueues(redis, keys)
    await queues.enqueue([queued("7", 0), queued("8", 0), queued("8", 1)])
    await redis.zadd(keys.ready, {"u:gone": 0})  # marked ready, its events handled meanwhile
    claimed, _ = await queues.claim("c1", 10)
    heads = {lease.ordering_key: lease.head.item_id if lease.head else None for lease in claimed}
    assert heads == {"u:7": "1-0.0", "u:8": "1-0.0", "u:gone": None}
    assert await queues.claim("c2", 10) == ([], 0)  # all leased: nothing for another consumer
