"""Finding 7: throttling was retried without end and held every other shopper's replies.

During a 200-subscriber sale Meta (the stand-in) answers code 4, then 613 without a usage header,
then HTTP 429, for 6 s in all, while a shopper chats (four messages a second). During the pause one
probe a second goes through, the head of a shopper's line first; the first that Meta accepts ends the
pause. The shopper's replies must all be out within 10 s of the throttling ending: a second or two for
the probe, then the two dozen replies held meanwhile, one after the other in their order (one call at
a time: that is what keeps them in order), on a 2-core machine that runs the whole topology. Every
notification must end sent or recorded failed/throttled, and nothing may be retried without end.
"""

from __future__ import annotations

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_fanout import throttled_fanout_while_chatting


async def test_throttling_ends_within_a_budget_and_never_holds_replies(client: FaultClient) -> None:
    await client.reset(workers={"PAGE_SEND_RATE": "100"})
    figures = await throttled_fanout_while_chatting(client, count=200, window=6.0, bound=10.0, budget=30.0)
    assert_held(figures)
