"""Finding 9: delivered/read numbers were ~42 % of the truth with no fault at all."""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_fanout import receipts_count_every_send


async def test_delivered_and_read_equal_sent_once_receipts_arrived(client: FaultClient) -> None:
    await client.reset()
    figures = await receipts_count_every_send(client, count=300)
    assert_held(figures)
