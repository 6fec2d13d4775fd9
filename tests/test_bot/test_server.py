"""Every wait of a connection has a deadline (issue 8, finding 10): idle, request head, request body.

Raw sockets against the real app served as ``salebell serve`` serves it, with deadlines of
a fraction of a second so each test takes about one. The bounds asserted are generous
liveness limits, not speed claims.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.server import Timeouts
from bot.settings import Settings
from tests.support.raw_http import closed_by_server, read_response, status_of
from tests.support.webhooks import message_item, messaging_body, signed

SHORT = 0.5
LIVENESS = 10.0  # a connection the deadline missed would stay open far longer (aiohttp's own idle: 3,630 s)


async def echo(request: web.Request) -> web.Response:
    """A route of a plugin that reads its body the usual way."""
    return web.json_response(await request.json())


async def slow_after_reading(request: web.Request) -> web.Response:
    """Reads its whole body at once, then works longer than the body deadline: must not be cut off."""
    body = await request.read()
    await asyncio.sleep(SHORT * 3)
    return web.json_response({"read": len(body)})


async def served(serve, settings: Settings, redis: Redis, timeouts: Timeouts) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(settings, redis, run_workers=False)
    app.router.add_post("/test/echo", echo)
    app.router.add_post("/test/slow", slow_after_reading)
    return await serve(app, timeouts=timeouts)


async def connect(client: TestClient) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", client.port)


async def connections_end(client: TestClient) -> None:
    """The server holds no connection any more (its handlers have all returned)."""
    runner = client.server.runner
    assert runner is not None and runner.server is not None
    server = runner.server
    async with asyncio.timeout(LIVENESS):
        while server.connections:
            await asyncio.sleep(0.05)


async def test_an_idle_connection_is_closed(serve, settings: Settings, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    client = await served(serve, settings, redis, Timeouts(idle=SHORT, head=LIVENESS * 3, body=LIVENESS * 3))
    reader, writer = await connect(client)
    assert await closed_by_server(reader, within=LIVENESS)
    writer.close()
    await connections_end(client)


async def test_an_idle_keep_alive_connection_is_closed_after_its_last_response(serve, settings: Settings,  # type: ignore[no-untyped-def]
                                                                               redis: Redis) -> None:
    client = await served(serve, settings, redis, Timeouts(idle=SHORT, head=LIVENESS * 3, body=LIVENESS * 3))
    reader, writer = await connect(client)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(await read_response(reader)) == 200
    assert await closed_by_server(reader, within=LIVENESS)
    writer.close()


async def test_a_slowloris_head_is_answered_408_and_closed(serve, settings: Settings, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    client = await served(serve, settings, redis, Timeouts(idle=LIVENESS * 3, head=SHORT, body=LIVENESS * 3))
    reader, writer = await connect(client)
    writer.write(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")

    async def dribble() -> None:  # one header line at a time, never the blank line that ends the head
        for n in range(int(LIVENESS / 0.05)):
            if writer.is_closing() or reader.at_eof():
                return
            writer.write(b"X-Slow-%d: y\r\n" % n)
            await asyncio.sleep(0.05)

    dribbling = asyncio.create_task(dribble())
    try:
        answer = await reader.read(1024)
        assert status_of(answer) == 408
        assert await closed_by_server(reader, within=LIVENESS)
    finally:
        dribbling.cancel()
        writer.close()
    await connections_end(client)


async def test_a_body_shorter_than_its_content_length_is_408_and_frees_its_handler(  # type: ignore[no-untyped-def]
        serve, settings: Settings, redis: Redis, keys: Keys) -> None:
    client = await served(serve, settings, redis, Timeouts(idle=LIVENESS * 3, head=LIVENESS * 3, body=SHORT))
    raw, headers = signed(messaging_body(settings.page_id, message_item(settings.page_id, "71", "hi")),
                          settings.app_secret.reveal())
    for path, part in (("/webhook", raw[:20]), ("/test/echo", b'{"a": 1')):
        reader, writer = await connect(client)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(raw) + 50}\r\n\r\n".encode()
                     + part)
        response = await read_response(reader, timeout=LIVENESS)
        assert status_of(response) == 408, response
        assert await closed_by_server(reader, within=LIVENESS)  # its unread rest can never be a next request
        writer.close()
        await connections_end(client)  # the handler returned: nothing holds the connection
    assert await redis.xlen(keys.inbox) == 0


async def test_the_body_deadline_ends_with_the_body_not_with_the_handler(serve, settings: Settings,  # type: ignore[no-untyped-def]
                                                                         redis: Redis) -> None:
    client = await served(serve, settings, redis, Timeouts(idle=LIVENESS * 3, head=LIVENESS * 3, body=SHORT))
    resp = await client.post("/test/slow", data=b"x" * 1000)
    assert resp.status == 200 and await resp.json() == {"read": 1000}


async def test_a_keep_alive_client_is_served_across_many_requests_and_idle_gaps(serve, settings: Settings,  # type: ignore[no-untyped-def]
                                                                                redis: Redis, keys: Keys) -> None:
    idle = 2.0
    client = await served(serve, settings, redis, Timeouts(idle=idle, head=SHORT, body=SHORT))
    reader, writer = await connect(client)
    secret = settings.app_secret.reveal()
    try:
        for n in range(6):  # 6 gaps of a quarter of the idle deadline: longer in all than one idle period
            raw, headers = signed(messaging_body(settings.page_id, message_item(settings.page_id, "71", f"m{n}")),
                                  secret)
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"POST /webhook HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(raw)}\r\n\r\n".encode())
            writer.write(raw[:10])
            await asyncio.sleep(0.05)  # a body in two parts, well inside its deadline
            writer.write(raw[10:])
            assert status_of(await read_response(reader)) == 200
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            health = await read_response(reader)
            assert status_of(health) == 200 and json.loads(health.split(b"\r\n\r\n", 1)[1])["status"] == "ok"
            await asyncio.sleep(idle / 4)
        assert not reader.at_eof()
    finally:
        writer.close()
    assert await redis.xlen(keys.inbox) == 6
