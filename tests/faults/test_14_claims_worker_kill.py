"""Issue 12: "a worker killed mid-burst changes nothing". 300 shoppers comment "SOLD 12" on a product with 10
units, their signed ``feed`` webhooks posted shuffled within about a second, over two workers; one worker
is SIGKILLed while claims are being recorded, or while their private replies are in flight. Exactly the 10
earliest comments (by ``created_time``) claimed, the rest waitlisted 1..N in comment-time order, one private
reply each (none lost, none twice) saying so, stock never below zero."""

from __future__ import annotations

import pytest

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_claims import KILL_MOMENTS, WORKERS, worker_killed_mid_claims


@pytest.mark.parametrize("when", KILL_MOMENTS)
async def test_a_worker_killed_mid_claim_burst_changes_nothing(client: FaultClient, when: str) -> None:
    await client.reset(workers=WORKERS)
    figures = await worker_killed_mid_claims(client, when, count=300)
    assert_held(figures)
