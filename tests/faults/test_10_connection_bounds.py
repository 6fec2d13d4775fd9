"""Finding 10: the web process had no timeouts; idle and slowloris connections stayed open for good.

Against the deployment's ``serve --web-only``: 200 connections that never send a byte, a client that
sends its headers one byte a second, and a request whose body is shorter than its Content-Length.
Each must be closed (or answered 408) within ``DEADLINE`` seconds — a liveness bound far above any
sane header, body or idle timeout, not a measure of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from tests.faults.checker import keep
from tests.faults.deployment import Deployment

DEADLINE = 20.0
IDLE_CONNECTIONS = 200


async def closed_by_server(reader: asyncio.StreamReader) -> bytes | None:
    """Everything the server sent until it closed the connection, or None if it never did."""
    received = b""
    try:
        async with asyncio.timeout(DEADLINE):
            while chunk := await reader.read(4096):
                received += chunk
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return received


async def slowloris(host: str, port: int) -> bytes | None:
    reader, writer = await asyncio.open_connection(host, port)

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in b"POST /webhook HTTP/1.1\r\nHost: bot\r\nX-Slow: " + b"a" * 1000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)

    dripping = asyncio.create_task(trickle())
    try:
        return await closed_by_server(reader)
    finally:
        dripping.cancel()
        writer.close()


async def short_body(host: str, port: int) -> bytes | None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"object\":")
    await writer.drain()
    try:
        return await closed_by_server(reader)
    finally:
        writer.close()


async def test_idle_slow_and_short_connections_end_within_the_servers_timeouts(deployment: Deployment) -> None:
    url = urlsplit(deployment.web_url)
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    idle = [await asyncio.open_connection(host, port) for _ in range(IDLE_CONNECTIONS)]
    try:
        results = await asyncio.gather(slowloris(host, port), short_body(host, port),
                                       *(closed_by_server(reader) for reader, _ in idle))
    finally:
        for _, writer in idle:
            writer.close()
    slow, short, *idles = results
    still_open = sum(1 for r in idles if r is None)
    answer = "no answer" if short is None else short.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
    line = (f"[faults] 10 connection bounds: {IDLE_CONNECTIONS} idle, {still_open} still open after {DEADLINE:g}s; "
            f"slowloris {'still open' if slow is None else 'closed'}; short body: {answer}")
    keep(line)
    assert still_open == 0, line
    assert slow is not None, line
    assert short is not None and short.startswith(b"HTTP/1.1 408"), line
