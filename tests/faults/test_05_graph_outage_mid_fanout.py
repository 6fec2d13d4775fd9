"""Finding 5: a 3 s Graph API network blip lost a tenth of a sale (recorded failed/network, never retried).

The Graph stand-in refuses connections (nothing reaches Meta) for 3 s, and for 10 s, once a tenth
of a 300-subscriber sale is out (sent at 100/s, so the outage falls mid-way).
"""

from __future__ import annotations

import pytest

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.scenarios_fanout import graph_outage_mid_fanout


@pytest.mark.parametrize("outage", [3.0, 10.0], ids=["3s", "10s"])
async def test_a_graph_outage_loses_no_notification(client: FaultClient, outage: float) -> None:
    await client.reset(workers={"PAGE_SEND_RATE": "100"})
    figures = await graph_outage_mid_fanout(client, count=300, outage=outage)
    assert_held(figures)
