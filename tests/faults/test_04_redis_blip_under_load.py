"""Finding 4: a 5 s Redis outage under load stalled shoppers for a lease and sent replies twice.

About 60 webhooks/s asked (30 shoppers, each waiting for its webhook's answer, so about 30/s arrive)
— a rate a shared 2-core CI machine keeps up with; ``bench/faults.py`` runs it at 300/s. The bot's
Redis is SIGKILLed for 5 s and comes back with its append-only file. Meta (the sandbox) retries
every webhook answered 503 until it is accepted.
"""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_chat import redis_outage_under_load


async def test_nothing_lost_or_sent_twice_and_everyone_answered_soon_after_redis_returns(client: FaultClient
                                                                                        ) -> None:
    await client.reset()
    figures = await redis_outage_under_load(client, rate=60.0, shopper_count=30, outage=5.0)
    assert_held(figures)
