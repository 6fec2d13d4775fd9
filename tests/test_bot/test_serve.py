"""``salebell serve`` as the Procfile runs it: ``--web-only`` stores webhooks and leaves them to workers;
a busy port stops it at once. Every process gets a data dir of its own (never the checkout's .salebell)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.keys import Keys
from bot.settings import SANDBOX_APP_SECRET
from tests.conftest import REDIS_URL
from tests.support.processes import end_process
from tests.support.redis_server import free_port
from tests.support.webhooks import message_item, messaging_body, signed


def serve_env(page_id: str, port: int, data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "REDIS_URL": REDIS_URL, "FB_PAGE_ID": page_id, "PORT": str(port),
           "SALEBELL_DATA_DIR": str(data_dir)}
    env.pop("FB_PAGE_ACCESS_TOKEN", None)
    env.pop("HOST", None)
    return env


async def start(page_id: str, data_dir: Path, *flags: str) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = serve_env(page_id, port, data_dir)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--log-level", "WARNING", "serve",
                                                *flags, env=env, stdout=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return proc, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    pytest.fail("salebell serve did not come up")


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        await end_process(proc)


async def post_message(url: str, page_id: str, text: str) -> None:
    raw, headers = signed(messaging_body(page_id, message_item(page_id, "psid-1", text)), SANDBOX_APP_SECRET)
    async with aiohttp.ClientSession() as http, http.post(url + "/webhook", data=raw, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def test_web_only_stores_and_leaves_processing_to_workers(redis: Redis, keys: Keys, page_id: str,
                                                               processes: list[asyncio.subprocess.Process],
                                                               tmp_path: Path) -> None:
    # ``processes`` after ``redis``: they end before the Page's keys are deleted
    web, url = await start(page_id, tmp_path, "--web-only")
    processes.append(web)
    await post_message(url, page_id, "hello")
    await asyncio.sleep(1.0)  # a splitter in this process would have taken the entry by now
    assert await redis.xlen(keys.inbox) == 1
    assert not await redis.exists(keys.ready) and await redis.zcard(keys.ready) == 0

    await end_process(web)
    whole, _ = await start(page_id, tmp_path)  # the default: workers inside serve
    processes.append(whole)
    for _ in range(100):
        if await redis.xlen(keys.inbox) == 0:
            break
        await asyncio.sleep(0.05)
    assert await redis.xlen(keys.inbox) == 0  # split and acknowledged by the workers now running


# -- finding 11 of issue 8: a busy port stops start-up, with no hidden worker left running --------

@pytest.mark.parametrize("flags", [(), ("--web-only",)])
async def test_a_port_in_use_stops_serve_with_one_clear_line(redis: Redis, keys: Keys, page_id: str,
                                                              tmp_path: Path, flags: tuple[str, ...]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", *flags,
                                                    env=serve_env(page_id, port, tmp_path),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            await end_process(proc)  # on a failure: never leave it running
    assert proc.returncode == 2
    assert err.decode().strip() == f"salebell: port {port} is in use (HOST=127.0.0.1); set PORT"
    assert await redis.exists(keys.inbox) == 0  # no splitter or consumer ever started


def test_an_existing_admin_token_file_is_made_private(tmp_path: Path) -> None:
    """Issue 16: an admin-token file left readable by an older run was rewritten but kept its mode."""
    from bot.cli import _save_admin_token  # noqa: PLC0415 - the step `serve` runs in sandbox mode
    from bot.settings import Settings  # noqa: PLC0415

    path = tmp_path / "admin-token"
    path.write_text("old")
    path.chmod(0o644)
    settings = Settings.from_env({"SALEBELL_DATA_DIR": str(tmp_path)})
    _save_admin_token(settings)
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text() == settings.admin_token.reveal()


async def test_serve_with_a_redis_that_does_not_answer_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: an unreachable REDIS_URL gave a traceback from the sandbox's start (and was announced as serving)."""
    from bot import cli  # noqa: PLC0415
    from bot.errors import ConfigError  # noqa: PLC0415
    from bot.storage import connect  # noqa: PLC0415

    monkeypatch.setattr(cli, "REDIS_START_SECONDS", 1.0)
    url = f"redis://user:pw-not-shown@127.0.0.1:{free_port()}/0"  # nobody listens there
    redis = connect(url)
    try:
        with pytest.raises(ConfigError, match="did not answer within 1s") as caught:
            await cli._redis_answers(redis, url)
        assert "pw-not-shown" not in str(caught.value)
    finally:
        await redis.aclose()
