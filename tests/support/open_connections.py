"""Which connections of a redis.asyncio client are still open after the client was closed.

``aclose()`` disconnects every pooled connection, but leaves them in the pool: a command sent on the
client afterwards (by a server or a task the test started, still running) reconnects one, and nothing
closes it again. Its socket then lives until the garbage collector finds it, once the test's event
loop is closed, and the "Exception ignored in AbstractConnection.__del__" it raises there is charged
to whichever test is running at that moment.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster


def open_connections(client: Redis) -> list[Any]:
    """The client's connections (of its pool, or of every cluster node) that are connected now."""
    if isinstance(client, RedisCluster):
        held = [conn for node in client.get_nodes() for conn in node._connections]
    else:
        pool: Any = client.connection_pool
        held = [*pool._available_connections, *pool._in_use_connections]
    return [conn for conn in held if conn.is_connected]
