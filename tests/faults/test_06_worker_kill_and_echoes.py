"""Finding 6: crash safety silently depended on echo webhooks, and the Marketing Message API lost sends.

A worker is SIGKILLed while its sends are in flight (the stand-in holds every other send 1 s on its
way to Meta and the others 1 s on the way back, so some never reached Meta and some did), on the
Send API path (``MARKETING_PATH=legacy``, inside the window: echoed with the job's metadata) and on
the Marketing Message API path, with echoes on, withheld, and later than the reclaim. Nothing may
be sent twice; nothing may be lost, except — where the guarantee rests on Meta's echo — a send the
bot shows as uncertain in its numbers.
"""

from __future__ import annotations

import pytest

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_fanout import ECHO_MODES, worker_killed_mid_fanout


@pytest.mark.parametrize("echoes", list(ECHO_MODES))
@pytest.mark.parametrize("path", ["legacy", "marketing_api"])
async def test_a_killed_worker_sends_nothing_twice_and_loses_nothing_unshown(client: FaultClient, path: str,
                                                                          echoes: str) -> None:
    await client.reset(sandbox=ECHO_MODES[echoes], workers={"MARKETING_PATH": path})
    figures = await worker_killed_mid_fanout(client, path, echoes, count=150)
    assert_held(figures)
