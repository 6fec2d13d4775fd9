"""The Procfile's shape in sandbox mode: ``salebell serve --web-only`` (webhook, admin API, the sandbox
of each Page) plus ``salebell worker`` processes, all real processes on one Redis given by URL.

For scenarios that need the deployed topology but not the fault suite's Graph stand-in: several Pages
in one deployment (tests/faults/test_12_two_pages.py), Redis Cluster (tests/test_cluster/).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import end_popen
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "topology-admin-token"
READY_SECONDS = 30.0
_DROPPED = ("FB_PAGE_ID", "FB_PAGES", "FB_PAGE_ACCESS_TOKEN", "HOST", "PORT", "GRAPH_API_URL", "REDIS_CLUSTER",
            "WEB_RUNS_WORKERS", "SALEBELL_DATA_DIR", "SALEBELL_PLUGINS")


class Topology:
    """``serve --web-only`` and ``workers`` worker processes with ``env`` (on top of a clean environment)."""

    def __init__(self, root: Path, env: dict[str, str], *, workers: int = 2) -> None:
        self.root = root
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith("FB_PAGE_ACCESS")}
        self.env = {**base, "PORT": str(self.port), "ADMIN_TOKEN": ADMIN_TOKEN, "HOST": "127.0.0.1",
                    "WEB_RUNS_WORKERS": "false", **env}
        self.worker_count = workers
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        (root / "logs").mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        data = self.root / "data" / name
        data.mkdir(parents=True, exist_ok=True)
        with open(self.root / "logs" / f"{name}.log", "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", *argv],
                                    env={**self.env, "SALEBELL_DATA_DIR": str(data)}, cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    async def start(self) -> None:
        self.web = self._spawn("web", "serve", "--web-only")
        self.workers = [self._spawn(f"worker-{n}", "worker") for n in range(self.worker_count)]
        await self.wait_ready()

    async def wait_ready(self) -> None:
        """Until ``/healthz`` answers 200 and reports a splitter at work for every Page (a worker is up)."""
        deadline = time.monotonic() + READY_SECONDS
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(self.url + "/healthz") as resp:
                        health = await resp.json() if resp.status == 200 else None
                except (aiohttp.ClientError, ValueError):
                    health = None
                if health and all(p["splitter"] for p in health["pages"].values()):
                    return
                for proc in [self.web, *self.workers]:
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(f"a process exited with {proc.returncode}:\n{self.log_tails()}")
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the deployment was not ready in {READY_SECONDS:.0f}s:\n{self.log_tails()}")

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL one worker and start a fresh one in its place (the Procfile's restart)."""
        proc = self.workers[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.workers[index] = self._spawn(f"worker-{index}-again", "worker")

    def stop(self) -> list[str]:
        """SIGTERM everything; the names of processes that had to be killed."""
        stuck = []
        for n, proc in enumerate(self.workers):
            if end_popen(proc) is None:
                stuck.append(f"worker-{n}")
        if self.web is not None and end_popen(self.web) is None:
            stuck.append("web")
        return stuck

    def log_tails(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / "logs").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)


class TopologyClient:
    """HTTP calls to a :class:`Topology`: the admin API (``?page=``) and a Page's sandbox."""

    def __init__(self, http: aiohttp.ClientSession, topology: Topology) -> None:
        self.http = http
        self.top = topology

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if path.startswith("/api/") else {}
        async with self.http.request(method, self.top.url + path, json=body, headers=headers) as resp:
            answer = await resp.json(content_type=None)
            assert resp.status == status, (method, path, resp.status, answer)
            return answer

    async def api(self, method: str, path: str, page: str, body: Any = None, status: int = 200) -> Any:
        return await self.call(method, f"{path}{'&' if '?' in path else '?'}page={page}", body, status)

    async def until(self, probe: Any, timeout: float = 30.0, what: str = "condition") -> Any:
        """Poll ``await probe()`` until it is truthy; its value, or AssertionError with the logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"waited {timeout:.0f}s for {what}\n{self.top.log_tails()}")
