"""``salebell live|broadcast|stats`` as a person runs them: a subprocess talking to the served admin API."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from live_sales import cli as live_cli
from tests.support.processes import end_process
from tests.test_live_sales.conftest import TOKEN, Shop

CLI_SECONDS = 60.0
CLEAN = ("ADMIN_TOKEN", "SALEBELL_API_URL", "FB_PAGE_ACCESS_TOKEN", "SALEBELL_DATA_DIR")


async def salebell(shop: Shop | None, *args: str, env: dict[str, str] | None = None, settle: Shop | None = None
                   ) -> tuple[int, str, str]:
    """Run ``python -m bot <args>``; with ``settle``, keep the bot's fan-outs and sends going meanwhile."""
    full = {k: v for k, v in os.environ.items() if k not in CLEAN}
    full.update({"SALEBELL_PLUGINS": "live_sales", **(env or {})})
    if shop is not None:
        args = (*args, "--url", shop.url, "--token", TOKEN)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "--log-level", "WARNING", *args, env=full,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    communicate = asyncio.ensure_future(proc.communicate())
    deadline = asyncio.get_running_loop().time() + CLI_SECONDS
    while settle is not None and not communicate.done() and asyncio.get_running_loop().time() < deadline:
        await settle.settle()
        await asyncio.wait([communicate], timeout=0.05)
    try:
        out, err = await asyncio.wait_for(communicate, max(1.0, deadline - asyncio.get_running_loop().time()))
    except TimeoutError:
        await end_process(proc, signal.SIGKILL)
        pytest.fail(f"salebell {' '.join(args)} did not end within {CLI_SECONDS:.0f}s")
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_host_runs_a_sale_from_the_cli(shop: Shop) -> None:
    shoppers = [await shop.subscriber(f"c{i}") for i in range(3)]
    code, out, err = await salebell(shop, "live", "create", "--title", "Denim drop", "--link",
                                    "https://shop.test/denim", "--post", "p-1", "--product", "SKU-9", "--json")
    assert code == 0, err
    sale = json.loads(out)["id"]
    code, out, err = await salebell(shop, "live", "start", sale, "--follow", "--timeout", "20", settle=shop)
    assert code == 0, err
    assert f"{sale}: started" in out and "fan-out: done (complete)" in out
    assert "[" + "#" * 30 + "]" in err and "sent 3" in err  # the progress bar, at 100 %
    view = await shop.api("GET", f"/api/live-sales/{sale}")
    assert view["started_by"] == "cli" and view["numbers"]["sent"] == 3
    for psid in shoppers:
        assert len(await shop.received(psid, "shop.test/denim")) == 1
    (c1, again, _), (c2, shown, _), (c3, listed, _), (c4, stats, _) = await asyncio.gather(
        salebell(shop, "live", "start", sale), salebell(shop, "live", "show", sale), salebell(shop, "live", "list"),
        salebell(shop, "stats", "--days", "3"))
    assert (c1, c2, c3, c4) == (0, 0, 0, 0)
    assert f"{sale}: already live" in again
    assert "eligible  queued  sent  delivered  read  skipped  failed  pending" in shown and "SKU-9" in shown
    assert sale in listed and "live" in listed
    lines = stats.splitlines()
    assert lines[0].split()[:4] == ["day", "sent", "delivered", "read"] and lines[-3].startswith("total")
    code, out, _ = await salebell(shop, "live", "end", sale)
    assert code == 0 and f"{sale}: ended" in out
    code, out, _ = await salebell(shop, "live", "end", sale)  # issue 16: it said "already already"
    assert code == 0 and f"{sale}: already ended" in out and "already already" not in out


def test_the_progress_line_erases_what_a_longer_frame_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: on a terminal the last frame read "(done)ng)": a shorter frame over a longer one."""
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    show = live_cli._progress(argparse.Namespace(json=False))
    running = {"fanout": {"state": "running", "phase": "sending", "eligible": 10, "complete": False},
               "numbers": {"eligible": 10, "queued": 10, "sent": 5, "done": 5, "pending": 5, "skipped_total": 0,
                           "failed_total": 0}}
    show(running)
    show({**running, "fanout": {**running["fanout"], "state": "done", "complete": True},
          "numbers": {**running["numbers"], "sent": 10, "done": 10, "pending": 0}})
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 2 and all(f.endswith(live_cli.ERASE_TO_END) for f in frames)

async def test_cli_errors_and_blasts(shop: Shop, tmp_path: Path) -> None:
    sale = (await shop.api("POST", "/api/live-sales", {"title": "Later"}, status=201))["id"]
    env = {"SALEBELL_API_URL": shop.url, "SALEBELL_DATA_DIR": str(tmp_path)}
    unknown, never_started, no_token = await asyncio.gather(
        salebell(shop, "live", "end", "ls-999"), salebell(shop, "live", "end", sale),
        salebell(None, "live", "list", env=env))
    assert unknown[0] == 1 and "404 live sale ls-999 not found" in unknown[2]
    assert never_started[0] == 1 and "409" in never_started[2] and "never started" in never_started[2]
    assert no_token[0] == 1 and "no admin token" in no_token[2]
    (tmp_path / "admin-token").write_text(TOKEN)  # what `salebell serve` writes in sandbox mode
    (code, out, err), (wrong, _, wrong_err) = await asyncio.gather(
        salebell(None, "live", "list", env=env), salebell(None, "live", "list", env={**env, "ADMIN_TOKEN": "nope"}))
    assert code == 0 and sale in out, err
    assert wrong == 1 and "401" in wrong_err and "nope" not in wrong_err
    psid = await shop.subscriber()
    code, out, err = await salebell(shop, "broadcast", "Restock at 9!", "--link", "https://shop.test/restock",
                                    "--button", "Shop now", "--follow", "--timeout", "20", settle=shop)
    assert code == 0 and "fan-out: done (complete)" in out, err
    [message] = await shop.received(psid, "shop.test/restock")
    assert message["message"]["attachment"]["payload"]["buttons"][0]["title"] == "Shop now"


async def test_utility_templates_sync_and_list_from_the_cli(shop: Shop) -> None:
    code, out, err = await salebell(shop, "utility-templates", "sync")
    assert code == 0, err
    assert "salebell_order_shipped" in out and "APPROVED" in out and "yes" in out
    code, out, err = await salebell(shop, "utility-templates", "sync", "--json")
    assert code == 0, err
    assert json.loads(out)["created"] == [] and json.loads(out)["approved"] is True
    code, out, err = await salebell(shop, "utility-templates", "list")
    assert code == 0 and "salebell_order_delivered" in out and "not approved" not in out, (out, err)
