"""Finding 3: one shopper's events were handled (and answered) out of order with two workers."""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_chat import order_with_two_workers


async def test_each_shoppers_messages_are_handled_and_answered_in_order(client: FaultClient) -> None:
    await client.reset()
    figures = await order_with_two_workers(client, shopper_count=4, messages=30)
    assert_held(figures)
