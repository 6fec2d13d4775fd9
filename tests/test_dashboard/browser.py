"""Browser tests' support: Debian's Chromium through Playwright (never ``playwright install``), and a real
``salebell serve`` process per test on a Page of its own.

Chromium is looked for at ``$SALEBELL_CHROMIUM``, ``/usr/bin/chromium`` (the Debian package, which
``.ci/run`` installs), then ``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH. Without one
the browser tests skip with the reason, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis as sync_redis

from bot.keys import Keys
from tests.support.pages import key_glob
from tests.support.redis_server import free_port

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
TOKEN = "test-admin-token"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
START_SECONDS = 30.0
STOP_SECONDS = 20.0


def find_chromium() -> str | None:
    """The Chromium binary to drive, or None."""
    configured = os.environ.get("SALEBELL_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def new_page_id() -> str:
    return "8" + "".join(secrets.choice("0123456789") for _ in range(14))


@dataclass
class ServedBot:
    """``salebell serve`` (sandbox mode, the default plugins) on a free port, for one Page."""

    page_id: str = field(default_factory=new_page_id)
    flags: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="salebell-browser-")))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedBot:
        env = {**os.environ, "REDIS_URL": REDIS_URL, "FB_PAGE_ID": self.page_id, "PORT": str(self.port),
               "SALEBELL_DATA_DIR": str(self.data_dir), "ADMIN_TOKEN": TOKEN}
        for name in ("FB_PAGE_ACCESS_TOKEN", "HOST", "SALEBELL_PLUGINS", "WEB_RUNS_WORKERS"):
            env.pop(name, None)
        with open(self.data_dir / "serve.log", "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", "serve",
                                             *self.flags], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"salebell serve exited with {self.process.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"salebell serve did not answer /healthz within {START_SECONDS:.0f}s: {self.log()}")

    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        client = sync_redis.Redis.from_url(REDIS_URL)
        try:
            found = list(client.scan_iter(match=key_glob(Keys(self.page_id).prefix) + "*", count=5000))
            for i in range(0, len(found), 5000):
                client.unlink(*found[i:i + 5000])
        finally:
            client.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def call(self, method: str, path: str, body: Any = None, *, admin: bool = False) -> Any:
        """A JSON call to the sandbox or (``admin``) the admin API with the bearer token."""
        headers = {"Content-Type": "application/json"}
        if admin:
            headers["Authorization"] = f"Bearer {TOKEN}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read() or b"null")


def wait_for(probe: Any, timeout: float = 20.0, what: str = "condition", every: float = 0.2) -> Any:
    """Poll ``probe()`` until it returns something true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}; last: {value!r}")
        time.sleep(every)
