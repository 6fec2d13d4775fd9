"""HTTP/1.1 over a bare socket, for requests no client library will send (bad header bytes, slow or short bodies)."""

from __future__ import annotations

import asyncio


async def exchange(port: int, request: bytes, *, host: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Send ``request`` as is and return everything the server answers until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_response(reader, timeout=timeout)
    finally:
        writer.close()
        await writer.wait_closed()


async def read_response(reader: asyncio.StreamReader, *, timeout: float = 10.0) -> bytes:
    """One response: the head, then as many body bytes as its Content-Length says."""
    async with asyncio.timeout(timeout):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return head + await reader.readexactly(length)


def status_of(response: bytes) -> int:
    """The status code of a raw response (``HTTP/1.1 403 Forbidden`` → 403)."""
    return int(response.split(b" ", 2)[1])


async def closed_by_server(reader: asyncio.StreamReader, *, within: float) -> bool:
    """True when the server closes the connection (EOF or reset) within ``within`` seconds; False if still open."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True
