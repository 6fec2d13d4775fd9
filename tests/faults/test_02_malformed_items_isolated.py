"""Finding 2: one malformed item lost every event read with it (and some bodies answered 500).

Signed bodies with a NaN / infinite / 1e400 timestamp, ``mids`` or ``attachments`` that are not
lists, a lone surrogate in a text and 50,000 levels of nesting, plus a signature header that is not
UTF-8, posted to the webhook between rounds of normal messages.
"""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_chat import malformed_between_normal


async def test_malformed_parts_are_rejected_and_counted_and_cost_nothing_else(client: FaultClient) -> None:
    await client.reset()
    figures = await malformed_between_normal(client, shopper_count=8, rounds=6)
    assert_held(figures)
