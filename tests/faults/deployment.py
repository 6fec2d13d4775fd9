"""The deployed topology the fault suite runs, as real processes (no Docker).

- the bot's Redis: a private ``redis-server`` (AOF, ``appendfsync always``) on a fixed port that a
  scenario kills, stops, restarts and restarts empty (``tests.support.redis_server``); or, with
  ``cluster=True``, a local three-master Redis Cluster (``tests.support.redis_cluster``);
- Meta: the sandbox alone (``python -m bot.sandbox``) on a *different* Redis (``META_REDIS_URL``,
  the shared test Redis by default), so the bot's Redis going down does not take "Meta" with it;
- a production-like Graph API (``tests.faults.graph_standin``) between the bot and the sandbox;
- the bot in production mode, as the Procfile runs it: ``salebell serve --web-only`` and two
  ``salebell worker`` processes with the default plugins and ``tests.faults.history``.

The processes are started once per session (start-up is ~2 s of CPU per Python process) and
shared by the scenarios; :class:`~tests.faults.client.FaultClient` resets the Page between them.
Every process writes its output to ``<root>/logs/<name>.log``; a failing scenario shows the tails.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis as redis_sync

import bot.page_settings
import bot.settings
import bot.settings_env
from bot.keys import Keys
from bot.page_settings import sandbox_instagram_account
from bot.settings import (
    SANDBOX_AD_ACCOUNT,
    SANDBOX_APP_ID,
    SANDBOX_APP_SECRET,
    SANDBOX_MESSAGE_CAMPAIGN,
    SANDBOX_PAGE_TOKEN,
)
from tests.faults.history import ready_key
from tests.support.processes import end_popen
from tests.support.redis_cluster import RedisClusterProcesses
from tests.support.redis_server import RedisProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
META_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
ADMIN_TOKEN = "faults-admin-" + secrets.token_hex(6)
VERIFY_TOKEN = "faults-verify"
PLUGINS = "dialogue,live_sales,tests.faults.history"
READY_SECONDS = 30.0
# The workers' test settings: a dead consumer's lease and a dead worker's entries come back in 2 s; a
# reclaimed uncertain send waits 10 s for its echo (the late echoes of scenario 6 come after 8 s).
WORKER_ENV = {"LEASE_SECONDS": "2", "RECLAIM_IDLE_SECONDS": "2", "PAGE_SEND_RATE": "0",
              "WORKER_CONCURRENCY": "64", "SEND_CONCURRENCY": "32", "ECHO_WAIT_SECONDS": "10"}
# Every variable the bot's settings read: none may leak in from the environment of the test run.
_SETTING_NAMES = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', inspect.getsource(bot.settings_env)
                                + inspect.getsource(bot.settings) + inspect.getsource(bot.page_settings))
                     ) | {"LOG_LEVEL", "LOG_FORMAT"}


def clean_env() -> dict[str, str]:
    """This run's environment without any setting of the bot (each process gets exactly its own)."""
    return {k: v for k, v in os.environ.items() if k not in _SETTING_NAMES and not k.startswith("FB_PAGE_ACCESS")}


def _get(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return int(resp.status)
    except OSError:
        return 0


class Deployment:
    """The processes of one Page's deployment, started and ended from the test process."""

    def __init__(self, root: Path, *, page_id: str | None = None, meta_redis_url: str = META_REDIS_URL,
                 worker_env: dict[str, str] | None = None, cluster: bool = False) -> None:
        self.root = root
        self.page_id = page_id or "8" + "".join(secrets.choice("0123456789") for _ in range(14))
        self.keys = Keys(self.page_id)
        self.meta_redis_url = meta_redis_url
        self.cluster = cluster
        self.bot_redis: RedisProcess | RedisClusterProcesses = (
            RedisClusterProcesses(root / "bot-cluster") if cluster else RedisProcess(root / "bot-redis"))
        self.sandbox_port, self.graph_port, self.control_port, self.web_port = (free_port() for _ in range(4))
        self.worker_env = {**WORKER_ENV, **(worker_env or {})}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.web_redis_starts = 0
        self._serial = 0
        self._log_marks: dict[str, int] = {}
        (root / "logs").mkdir(parents=True, exist_ok=True)

    # -- addresses ---------------------------------------------------------------
    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def graph_url(self) -> str:
        return f"http://127.0.0.1:{self.graph_port}"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    # -- environments --------------------------------------------------------------
    def bot_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Production mode against the stand-in: the sandbox's Page token, app secret and app id, and the
        Instagram account the sandbox links to the Page (its Instagram shoppers are the Page's too)."""
        return {**clean_env(), "FB_PAGE_ACCESS_TOKEN": SANDBOX_PAGE_TOKEN, "FB_APP_SECRET": SANDBOX_APP_SECRET,
                "FB_INSTAGRAM_ACCOUNT_ID": sandbox_instagram_account(self.page_id),
                "FB_VERIFY_TOKEN": VERIFY_TOKEN, "ADMIN_TOKEN": ADMIN_TOKEN, "FB_PAGE_ID": self.page_id,
                "FB_APP_ID": SANDBOX_APP_ID, "FB_AD_ACCOUNT_ID": SANDBOX_AD_ACCOUNT,
                "FB_MESSAGE_CAMPAIGN_ID": SANDBOX_MESSAGE_CAMPAIGN, "REDIS_URL": self.bot_redis.url,
                "GRAPH_API_URL": self.graph_url, "SALEBELL_PLUGINS": PLUGINS, "WEB_RUNS_WORKERS": "false",
                "HOST": "127.0.0.1", **({"REDIS_CLUSTER": "true"} if self.cluster else {}), **(extra or {})}

    def _data_dir(self, name: str) -> str:
        path = self.root / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.root / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    # -- life ----------------------------------------------------------------------
    def start(self) -> None:
        """Every process, the slow ones at once; returns when each answers (or raises with the logs)."""
        self.bot_redis.start()
        sandbox_env = {**clean_env(), "PORT": str(self.sandbox_port), "REDIS_URL": self.meta_redis_url,
                       "FB_PAGE_ID": self.page_id, "SANDBOX_WEBHOOK_URL": self.web_url + "/webhook",
                       "SALEBELL_DATA_DIR": self._data_dir("sandbox"), "HOST": "127.0.0.1"}
        self.spawn("sandbox", [sys.executable, "-m", "bot.sandbox"], sandbox_env)
        self.spawn("graph-standin", [sys.executable, "-m", "tests.faults.graph_standin", "--port",
                                     str(self.graph_port), "--control-port", str(self.control_port),
                                     "--upstream", self.sandbox_url + "/sandbox/graph"], clean_env())
        self.start_web()
        self.start_workers(2)
        self._wait("sandbox", lambda: _get(self.sandbox_url + "/sandbox/config") == 200)
        self._wait("graph-standin", lambda: _get(self.control_url + "/stats") == 200)
        self.wait_web()
        self.wait_workers()

    def start_web(self) -> None:
        self.web_redis_starts = self.bot_redis.starts
        self.spawn("web", [sys.executable, "-m", "bot", "--log-level", "WARNING", "serve", "--web-only"],
                   self.bot_env({"PORT": str(self.web_port), "SALEBELL_DATA_DIR": self._data_dir("web")}))

    def wait_web(self) -> None:
        self._wait("web", lambda: _get(self.web_url + "/healthz") == 200, proc=self.procs["web"])

    def restart_web_if_redis_restarted(self) -> bool:
        """A fresh web process when the bot's Redis restarted under the running one (scenarios stay apart:
        the old one's pooled connections are dead, and what it does with them is its own scenario's business)."""
        if self.bot_redis.starts == self.web_redis_starts:
            return False
        end_popen(self.procs.pop("web"))
        self.start_web()
        self.wait_web()
        return True

    def stop(self) -> list[str]:
        """End every process (SIGTERM, then SIGKILL after 20 s); returns the names that had to be killed."""
        killed = []
        for name, proc in list(self.procs.items()):
            if end_popen(proc) is None:
                killed.append(name)
        self.procs.clear()
        self.workers.clear()
        self.bot_redis.stop()
        return killed

    def start_workers(self, count: int, env: dict[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
        """``count`` more ``salebell worker`` processes (``env``: settings for them only)."""
        started = []
        for _ in range(count):
            self._serial += 1
            name = f"worker-{self._serial}"
            extra = {**self.worker_env, **(env or {}), "SALEBELL_DATA_DIR": self._data_dir(name)}
            proc = self.spawn(name, [sys.executable, "-m", "bot", "--log-level", "WARNING", "worker"],
                              self.bot_env(extra))
            self.workers.append(proc)
            started.append(proc)
        return started

    def wait_workers(self, timeout: float = READY_SECONDS) -> None:
        """Until every live worker's runtime runs (its ready key is in the bot's Redis)."""
        client: redis_sync.Redis | redis_sync.RedisCluster = (
            redis_sync.RedisCluster.from_url(self.bot_redis.url, socket_timeout=2) if self.cluster
            else redis_sync.Redis.from_url(self.bot_redis.url, socket_timeout=2))
        try:
            for proc in self.workers:
                self._wait(f"worker {proc.pid}", lambda: _exists(client, ready_key(self.keys, proc.pid)), timeout,
                           proc=proc)
        finally:
            client.close()

    def stop_workers(self, sig: int = signal.SIGKILL) -> None:
        for proc in self.workers:
            end_popen(proc, sig)
        self.procs = {n: p for n, p in self.procs.items() if p not in self.workers}
        self.workers.clear()

    def kill_worker(self, index: int = 0) -> int:
        """SIGKILL one worker (a crash mid-work); returns its pid."""
        proc = self.workers.pop(index)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = READY_SECONDS,
              proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not come up within {timeout:.0f}s\n{self.log_tails()}")

    def mark_logs(self) -> None:
        """From now on :meth:`log_tails` shows only what the processes write after this point."""
        self._log_marks = {p.name: p.stat().st_size for p in (self.root / "logs").glob("*.log")}

    def log_tails(self, lines: int = 12) -> str:
        """The last lines each process wrote since :meth:`mark_logs`, for a failure message."""
        out = []
        for path in sorted((self.root / "logs").glob("*.log")):
            with path.open("rb") as log:
                log.seek(self._log_marks.get(path.name, 0))
                tail = log.read().decode(errors="replace").splitlines()[-lines:]
            if tail:
                out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def describe(self) -> str:
        return json.dumps({"page": self.page_id, "bot_redis": self.bot_redis.url, "meta_redis": self.meta_redis_url,
                           "web": self.web_url, "sandbox": self.sandbox_url, "graph": self.graph_url,
                           "control": self.control_url, "workers": [w.pid for w in self.workers]})


def _exists(client: redis_sync.Redis | redis_sync.RedisCluster, key: str) -> bool:
    try:
        return bool(client.exists(key))
    except redis_sync.RedisError:
        return False
