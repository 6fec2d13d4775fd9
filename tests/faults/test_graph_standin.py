"""The Graph stand-in does what the scenarios rely on: forwards, and injects each fault as documented."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.faults.deployment import ROOT, clean_env
from tests.support.processes import end_process
from tests.support.redis_server import free_port


@dataclass
class Upstream:
    """Plays the sandbox's Graph API: records each call, answers ``{"message_id": ...}``."""

    calls: list[str] = field(default_factory=list)
    hold: float = 0.0  # seconds before each answer (a busy Meta)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(request.path)
        await asyncio.sleep(self.hold)
        return web.json_response({"recipient_id": "1", "message_id": f"m_{len(self.calls)}"},
                                 headers={"x-fb-trace-id": "trace"})


@dataclass
class StandIn:
    graph: str
    control: str
    upstream: Upstream
    http: aiohttp.ClientSession

    async def send(self, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.graph + "/v25.0/me/messages", json={"message": {"text": "hi"}},
                                  headers={"Authorization": "Bearer t"},
                                  timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.json()

    async def fault(self, kind: str, **params: object) -> dict[str, Any]:
        async with self.http.post(self.control + "/" + kind, json=params) as resp:
            return dict(await resp.json())


@pytest.fixture
async def standin(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> AsyncIterator[StandIn]:
    upstream = Upstream()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream.handle)
    server = await aiohttp_server(app)
    port, control = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.graph_standin", "--port", str(port), "--control-port", str(control),
        "--upstream", str(server.make_url("/sandbox/graph")), cwd=ROOT, env=clean_env())
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{control}/stats") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        yield StandIn(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{control}", upstream, http)
    await end_process(proc)


async def test_calls_are_forwarded_to_the_sandbox_graph_api(standin: StandIn) -> None:
    status, answer = await standin.send()
    assert status == 200 and answer["message_id"] == "m_1"
    assert standin.upstream.calls == ["/sandbox/graph/v25.0/me/messages"]


async def test_meta_errors_for_a_number_of_calls_with_or_without_a_usage_header(standin: StandIn) -> None:
    await standin.fault("error", code=613, subcode=1996, status=400, calls=2, usage_minutes=1)
    async with standin.http.post(standin.graph + "/v25.0/me/messages", json={}) as resp:
        usage = json.loads(resp.headers["X-Business-Use-Case-Usage"])
        answer = await resp.json()
        assert resp.status == 400 and answer["error"]["code"] == 613 and answer["error"]["error_subcode"] == 1996
        assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] == 1
    assert (await standin.send())[0] == 400
    assert (await standin.send())[0] == 200  # two calls, then through
    await standin.fault("error", status=429, calls=1)
    status, answer = await standin.send()
    assert status == 429 and "code" not in answer["error"]
    assert len(standin.upstream.calls) == 1


async def test_refusing_connections_for_a_while(standin: StandIn) -> None:
    await standin.send()  # a kept-alive connection exists: it is closed too
    await standin.fault("refuse", seconds=1.0)
    await asyncio.sleep(0.1)  # the client sees that close (a call racing it gets a reset, as on a real network)
    with pytest.raises(aiohttp.ClientConnectorError):
        await standin.send()
    await asyncio.sleep(1.2)
    assert (await standin.send())[0] == 200
    assert len(standin.upstream.calls) == 2


async def test_a_dropped_answer_after_the_call_reached_meta(standin: StandIn) -> None:
    await standin.fault("drop", calls=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await standin.send()
    assert len(standin.upstream.calls) == 1  # Meta has the message; the caller never heard
    assert (await standin.send())[0] == 200


async def test_a_call_held_on_its_way_never_reaches_meta_if_its_caller_goes(standin: StandIn) -> None:
    await standin.fault("delay", before=1.0, seconds=0.0)
    with pytest.raises(asyncio.TimeoutError):
        await standin.send(timeout=0.3)
    await asyncio.sleep(1.2)
    assert standin.upstream.calls == []
    status, _ = await standin.send()
    assert status == 200 and len(standin.upstream.calls) == 1


async def test_alternate_calls_are_held_on_their_way_and_on_the_way_back(standin: StandIn) -> None:
    await standin.fault("delay", before=0.5, seconds=0.5, alternate=True)
    first = asyncio.create_task(standin.send())  # held on its way
    await asyncio.sleep(0.2)
    assert standin.upstream.calls == []
    second = asyncio.create_task(standin.send())  # reaches Meta at once, answered late
    await asyncio.sleep(0.2)
    assert len(standin.upstream.calls) == 1 and not second.done()
    assert (await first)[0] == (await second)[0] == 200 and len(standin.upstream.calls) == 2


async def test_every_answered_send_is_listed_with_its_recipient_and_status_until_cleared(standin: StandIn) -> None:
    async def sends() -> list[dict[str, Any]]:
        async with standin.http.get(standin.control + "/sends") as resp:
            return list((await resp.json())["sends"])

    await standin.send()
    await standin.fault("error", code=10, subcode=2018108, status=400, calls=1)
    await standin.send()
    await standin.fault("delay", before=1.0, seconds=0.0)
    with pytest.raises(asyncio.TimeoutError):
        await standin.send(timeout=0.3)  # never reached Meta, never answered: not listed
    await asyncio.sleep(1.2)
    assert [(s["message"], s["status"]) for s in await sends()] == [({"text": "hi"}, 200), ({"text": "hi"}, 400)]
    await standin.fault("clear")
    assert await sends() == []


async def test_a_call_whose_caller_goes_while_meta_handles_it_is_still_listed(standin: StandIn) -> None:
    standin.upstream.hold = 0.5
    with pytest.raises(asyncio.TimeoutError):
        await standin.send(timeout=0.2)  # the caller dies while Meta handles the call
    await asyncio.sleep(0.5)
    async with standin.http.get(standin.control + "/sends") as resp:
        assert [(s["message"], s["status"]) for s in (await resp.json())["sends"]] == [({"text": "hi"}, 200)]
