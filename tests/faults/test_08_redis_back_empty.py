"""Finding 8: after Redis came back empty the bot never answered again, while /healthz said ok."""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_chat import redis_back_empty


async def test_the_bot_answers_again_after_an_empty_redis_and_healthz_tells_the_truth(client: FaultClient
                                                                                       ) -> None:
    await client.reset()
    figures = await redis_back_empty(client, bound=5.0, watch=8.0)
    assert_held(figures)
