"""Finding 11: start-up mistakes an operator makes must stop the process with a clear message.

- ``salebell serve`` on a port already in use exits with code 2 and says so (it used to keep running
  as a hidden worker);
- production mode without ``REDIS_URL`` refuses to start (it used to start an embedded Redis);
- stopping ``serve --web-only`` leaves the embedded Redis that a ``salebell worker`` still uses running.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.keys import Keys
from bot.settings import SANDBOX_APP_SECRET, SANDBOX_PAGE_TOKEN
from bot.storage import EmbeddedRedis, connect
from tests.faults.checker import keep
from tests.faults.deployment import ROOT, clean_env
from tests.faults.history import ready_key
from tests.support.pages import delete_page_keys
from tests.support.processes import end_process
from tests.support.redis_server import free_port

EXIT_DEADLINE = 10.0
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def production_env(page_id: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {**clean_env(), "FB_PAGE_ACCESS_TOKEN": SANDBOX_PAGE_TOKEN, "FB_APP_SECRET": SANDBOX_APP_SECRET,
            "FB_VERIFY_TOKEN": "verify", "ADMIN_TOKEN": "admin", "FB_PAGE_ID": page_id,
            "SALEBELL_DATA_DIR": str(data_dir), "SALEBELL_PLUGINS": "none", "HOST": "127.0.0.1", **extra}


async def run_to_exit(env: dict[str, str], *args: str) -> tuple[int | None, str]:
    """Run ``salebell <args>``; its exit code (None if it was still running at the deadline) and output."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), EXIT_DEADLINE)
        return proc.returncode, output.decode(errors="replace")
    except TimeoutError:
        await end_process(proc)
        assert proc.stdout is not None
        return None, (await proc.stdout.read()).decode(errors="replace")


@pytest.fixture
async def clean_page(page_id: str) -> AsyncIterator[str]:
    yield page_id
    redis = connect(REDIS_URL)
    await delete_page_keys(redis, Keys(page_id))
    await redis.aclose()


async def test_serve_on_a_busy_port_and_production_without_redis_url_exit_with_code_2(clean_page: str,
                                                                                     tmp_path: Path) -> None:
    """Both at once (each may wait out the deadline on a bot that does not refuse)."""
    no_redis_dir = tmp_path / "no-redis"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy_env = production_env(clean_page, tmp_path / "busy", PORT=str(port), REDIS_URL=REDIS_URL)
        no_redis_env = production_env(clean_page, no_redis_dir, PORT=str(free_port()))
        try:
            (busy, busy_says), (no_redis, no_redis_says) = await asyncio.gather(
                run_to_exit(busy_env, "--log-level", "WARNING", "serve"),
                run_to_exit(no_redis_env, "--log-level", "WARNING", "serve", "--web-only"))
        finally:
            _end_embedded(no_redis_dir)  # whatever it may have started must not outlive the test
    keep(f"[faults] 11 serve on a port in use: exit code {busy}; says {busy_says.strip().splitlines()[-1:]}")
    keep(f"[faults] 11 production without REDIS_URL: exit code {no_redis}; "
         f"says {no_redis_says.strip().splitlines()[-1:]}")
    assert busy == 2 and str(port) in busy_says, busy_says
    assert no_redis == 2 and "REDIS_URL" in no_redis_says, no_redis_says


async def test_stopping_web_only_leaves_the_workers_embedded_redis_running(tmp_path: Path, page_id: str) -> None:
    env = {**clean_env(), "FB_PAGE_ID": page_id, "SALEBELL_DATA_DIR": str(tmp_path), "PORT": str(free_port()),
           "SALEBELL_PLUGINS": "tests.faults.history"}  # its ready key says when the worker's runtime runs
    socket_path = EmbeddedRedis(tmp_path).socket_path
    web = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--log-level", "WARNING", "serve",
                                               "--web-only", env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL)
    worker = None
    try:
        for _ in range(200):
            if await embedded_answers(socket_path):
                break
            await asyncio.sleep(0.05)
        worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--log-level", "WARNING",
                                                      "worker", env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL)
        for _ in range(400):  # until the worker runs on the server the web process started
            if await embedded_has(socket_path, ready_key(Keys(page_id), worker.pid)):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker did not start on the embedded Redis")
        await end_process(web)
        await asyncio.sleep(0.5)
        alive = await embedded_answers(socket_path)
        keep(f"[faults] 11 stop serve --web-only beside a worker: embedded Redis {'up' if alive else 'shut down'}")
        assert alive, "stopping serve --web-only shut the embedded Redis down under the running worker"
    finally:
        if worker is not None:
            await end_process(worker)
        await end_process(web)
        _end_embedded(tmp_path)


async def embedded_answers(socket_path: Path) -> bool:
    return await embedded_has(socket_path, None)


async def embedded_has(socket_path: Path, key: str | None) -> bool:
    """The embedded Redis answers (and holds ``key``)."""
    if not socket_path.exists():
        return False
    client = Redis(unix_socket_path=str(socket_path), socket_timeout=1)
    try:
        return bool(await client.exists(key)) if key else bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


def _end_embedded(data_dir: Path) -> None:
    """SIGTERM the embedded redis-server a process under test left in ``data_dir`` (its pid file says which)."""
    pid_file = data_dir / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
