"""A shopper's queue on real Redis: completing the handled head hands over the next one in the same step."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.events import RawItem
from bot.keys import Keys
from bot.parsing import parse_item
from bot.queues import Completed, Queued, ShopperQueues
from bot.window import window_opened
from tests.support.webhooks import comment_change, message_item


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


async def test_an_event_that_opens_the_window_raises_it_as_it_is_queued(redis: Redis, keys: Keys) -> None:
    """bot/window.py: the window is raised in the step that queues the event, never lowered, once per event;
    the shopper's unreachable mark goes with it."""
    queues = ShopperQueues(redis, keys)
    await redis.hset(keys.unreachable, "42", "1")
    opened = Queued("u:42", "mid:w1", "{}", "1-0.0", window=("42", 5_000))
    assert await queues.enqueue([opened]) == 1
    assert int(await redis.hget(keys.window, "42")) == 5_000 and not await redis.hexists(keys.unreachable, "42")
    earlier = Queued("u:42", "mid:w0", "{}", "1-0.1", window=("42", 4_000))  # Meta's batch out of order
    await redis.hset(keys.unreachable, "42", "1")
    assert await queues.enqueue([earlier, Queued("u:7", "mid:r", "{}", "1-0.2")]) == 2
    assert int(await redis.hget(keys.window, "42")) == 5_000 and await redis.hget(keys.window, "7") is None
    await redis.hset(keys.window, "42", 1)
    assert await queues.enqueue([opened]) == 0  # Meta's retry of an event queued before: nothing again
    assert int(await redis.hget(keys.window, "42")) == 1


def test_messages_postbacks_and_referrals_open_the_window_and_nothing_else() -> None:
    page = "100"
    message = parse_item(RawItem(page, "messaging", 1, message_item(page, "42", "hi", ts=1_796_000_009_000)))
    assert window_opened(message) == ("42", 1_796_000_009_000)
    read = parse_item(RawItem(page, "messaging", 1, {"sender": {"id": "42"}, "recipient": {"id": page},
                                                     "timestamp": 1_796_000_009_500,
                                                     "read": {"watermark": 1_796_000_009_400}}))
    assert read.kind == "read" and window_opened(read) is None
    comment = parse_item(RawItem(page, "changes", 1, comment_change("100_1", "100_2", "42", "LIVE")))
    assert window_opened(comment) is None


async def test_holding_the_splitter_lease_reads_the_cursor_in_the_same_step(redis: Redis, keys: Keys) -> None:
    """One round trip per splitter step for the lease and the cursor (issue 10): the holder gets the cursor,
    anyone else None, and giving the lease up lets another take it with the same cursor."""
    queues = ShopperQueues(redis, keys)
    assert await queues.hold_splitter("a", 5_000) == "0-0"  # before the first split
    await redis.set(keys.inbox_cursor, "1700000000000-3")
    assert await queues.hold_splitter("a", 5_000) == "1700000000000-3"  # renewed, with the cursor
    assert await queues.hold_splitter("b", 5_000) is None  # held by a
    await queues.release_splitter("a")
    assert await queues.hold_splitter("b", 5_000) == "1700000000000-3"
