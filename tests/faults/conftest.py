"""The fault suite's fixtures: one deployment for the session, a fresh Page per scenario.

Start-up costs ~2 s of CPU per Python process, so the processes (the bot's Redis, the sandbox,
the Graph stand-in, ``serve --web-only``) are shared by every scenario of the session; each
scenario resets the Page and gets two fresh ``salebell worker`` processes (:meth:`FaultClient.reset`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.storage import connect
from tests.faults.client import FaultClient
from tests.faults.deployment import Deployment
from tests.support.pages import delete_page_keys

FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running_deployment(Deployment(tmp_path_factory.mktemp("faults")))


def running_deployment(dep: Deployment) -> Iterator[Deployment]:
    """Start ``dep``, yield it, end it (a fixture's body: a module may run its own, e.g. on Redis Cluster)."""
    try:
        dep.start()
    except BaseException:
        dep.stop()
        raise
    yield dep
    killed = dep.stop()
    asyncio.run(_forget_meta_keys(dep))
    if killed:
        pytest.fail(f"fault-suite processes ignored SIGTERM and were killed: {killed}")


async def _forget_meta_keys(dep: Deployment) -> None:
    redis = connect(dep.meta_redis_url)
    try:
        await delete_page_keys(redis, dep.keys)
    finally:
        await redis.aclose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


@pytest.fixture
async def client(deployment: Deployment, request: pytest.FixtureRequest) -> AsyncIterator[FaultClient]:
    """The scenario's access to the deployment; the scenario calls ``reset`` with its settings first."""
    fault_client = FaultClient(deployment)
    yield fault_client
    await fault_client.control("clear")
    if not deployment.bot_redis.running:
        await asyncio.to_thread(deployment.bot_redis.start)
    await fault_client.close()
    if request.node.stash.get(FAILED, False):
        print(f"\n{deployment.describe()}\n{deployment.log_tails()}")
