"""Finding 1: a Redis restart during a fan-out skipped subscribers silently and the sale said complete.

The fan-out resumed from a stored HSCAN cursor, which means nothing once Redis has rebuilt the hash
(a restart, a failover). A sale of 1,100 subscribers (more than one 1,000-subscriber scan batch),
sent at 125/s so the fan-out waits between batches when the bot's Redis goes away for 4 s.
"""

from __future__ import annotations

import pytest

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_fanout import redis_restart_mid_fanout

SLOW_SENDING = {"PAGE_SEND_RATE": "125"}


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "clean-stop"])
async def test_every_subscriber_is_notified_once_across_a_redis_restart(client: FaultClient, kill: bool) -> None:
    await client.reset(workers=SLOW_SENDING)
    figures = await redis_restart_mid_fanout(client, count=1100, outage=4.0, kill=kill)
    assert_held(figures)
