"""The admin API keeps the promises of its own ``/api/openapi.json`` (schemathesis, against a served bot).

``salebell serve`` runs in sandbox mode with the default plugins on a real port; schemathesis loads the
document it serves and, for every operation, sends the document's examples, the coverage phase's
boundary and unsupported-method cases and a fixed number of generated requests, valid and invalid
(derandomized, so a run is repeatable). Each answer must be no 5xx, a documented status with its
documented content type and schema, a 4xx for every request the schema does not allow, and a 405 with
``Allow`` for a method the path does not have. ``CONTRACT_EXAMPLES`` sets the examples per operation and
``CONTRACT_PHASES`` the phases (``make contract`` runs many examples and the stateful phase too).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.keys import Keys
from bot.storage import connect
from tests.conftest import REDIS_URL
from tests.support.contract import run_contract
from tests.support.pages import delete_page_keys
from tests.support.processes import end_popen
from tests.support.redis_server import free_port

TOKEN = "contract-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
PHASES = tuple(os.environ.get("CONTRACT_PHASES", "examples,coverage,fuzzing").split(","))
PAGE_ID = "97" + str(os.getpid()).rjust(13, "0")


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "REDIS_URL": REDIS_URL, "FB_PAGE_ID": PAGE_ID, "PORT": str(port), "ADMIN_TOKEN": TOKEN,
           "SALEBELL_DATA_DIR": str(data_dir)}
    for name in ("FB_PAGE_ACCESS_TOKEN", "HOST", "SALEBELL_PLUGINS"):  # sandbox mode, the default plugins
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", "serve"], env=env,
                            stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    end_popen(proc)
    pytest.fail("salebell serve did not come up")


async def _forget_page() -> None:
    redis = connect(REDIS_URL)
    await delete_page_keys(redis, Keys(PAGE_ID))
    await redis.aclose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = _serve(tmp_path_factory.mktemp("contract"))
    yield url
    code = end_popen(proc)
    asyncio.run(_forget_page())
    assert code is not None, "salebell serve ignored SIGTERM"


def test_admin_api_keeps_its_openapi_document(served: str) -> None:
    run = run_contract(served, TOKEN, EXAMPLES, phases=PHASES)
    print(run.report())
    assert run.operations >= 20 and run.cases > 0, run.report()
    assert not run.failures and not run.errors, run.report()
