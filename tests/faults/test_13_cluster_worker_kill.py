"""Issue 9: the worker-kill scenario (finding 6, test_06) with the bot's Redis a local three-master Redis
Cluster: ``serve --web-only`` and two workers with ``REDIS_CLUSTER=true``, a worker SIGKILLed while its
sends are in flight; nothing sent twice, nothing lost unshown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.checker import assert_held
from tests.faults.client import FaultClient
from tests.faults.conftest import running_deployment
from tests.faults.deployment import Deployment
from tests.faults.scenarios_fanout import ECHO_MODES, worker_killed_mid_fanout
from tests.support.redis_cluster import page_on_node


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """This module's own deployment, on Redis Cluster (the suite's other scenarios share one on redis-server)."""
    yield from running_deployment(Deployment(tmp_path_factory.mktemp("faults-cluster"), cluster=True,
                                             page_id=page_on_node(2)))


@pytest.mark.parametrize("path", ["legacy", "marketing_api"])
async def test_on_redis_cluster_a_killed_worker_sends_nothing_twice_and_loses_nothing_unshown(
        client: FaultClient, path: str) -> None:
    await client.reset(sandbox=ECHO_MODES["echoes on"], workers={"MARKETING_PATH": path})
    figures = await worker_killed_mid_fanout(client, path, "echoes on", count=150)
    assert_held(figures)
