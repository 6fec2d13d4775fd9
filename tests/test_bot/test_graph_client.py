"""GraphClient against a small local aiohttp app standing in for Meta (scripted answers)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.graph import payloads as p
from bot.graph import request_bodies as rb
from bot.graph.client import GraphClient
from bot.graph.errors import (
    GraphNetworkError,
    GraphThrottled,
    OutsideWindow,
    SendUncertain,
    TokenInvalid,
)
from bot.graph.payloads import PayloadError
from bot.graph.transport import new_session
from bot.secret import Secret
from bot.settings import Settings

TOKEN = "EAAtestPageToken0123456789abcdefSECRET"
SHOPPER_TEXT = "my secret address is 12 Rizal St"
DROP, HANG = "drop", "hang"

Answer = tuple[int, Any, dict[str, str]] | str


@dataclass
class Seen:
    method: str
    path: str
    query: str
    authorization: str | None
    body: Any


@dataclass
class FakeMeta:
    """Answers each request with the next scripted (status, body, headers), or drops/hangs."""

    script: deque[Answer] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        auth = request.headers.get("Authorization")
        self.seen.append(Seen(request.method, request.path, request.query_string, auth, body))
        answer = self.script.popleft() if self.script else (599, {"error": {"message": "script exhausted"}}, {})
        if answer == DROP:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError  # the connection is gone; nothing to answer
        if answer == HANG:
            await self.release.wait()
            return web.json_response({})
        status, body, headers = answer  # type: ignore[misc]
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=status, text=text, headers=headers, content_type="application/json")


class Sleeps:
    """tenacity's sleep hook: records each planned wait, then really waits it."""

    def __init__(self, then: Callable[[], Awaitable[None]] | None = None) -> None:
        self.planned: list[float] = []
        self.then = then

    async def __call__(self, seconds: float) -> None:
        self.planned.append(seconds)
        if self.then is not None:
            await self.then()
        await asyncio.sleep(seconds)


Meta = tuple[FakeMeta, TestServer]
Session = aiohttp.ClientSession


def settings_for(url: str) -> Settings:
    return Settings().replace(graph_api_url=url, page_access_token=Secret(TOKEN), ad_account_id="act_300000000000003")


@pytest.fixture
async def meta() -> AsyncIterator[tuple[FakeMeta, TestServer]]:
    fake = FakeMeta()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, server
    fake.release.set()
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session(limit=8) as s:
        yield s


def client_for(session: aiohttp.ClientSession, server: TestServer, sleeps: Sleeps, **kw: Any) -> GraphClient:
    settings = settings_for(str(server.make_url("/graph")))
    return GraphClient.from_settings(session, settings, wait_scale=0.001, sleep=sleeps, **kw)


def graph_error(code: int, subcode: int = 0, status: int = 400, headers: dict[str, str] | None = None) -> Answer:
    error: dict[str, Any] = {"message": f"(#{code}) nope", "code": code, "fbtrace_id": "Ftrace9"}
    if subcode:
        error["error_subcode"] = subcode
    return (status, {"error": error}, headers or {})


SEND = rb.send_body(rb.to_psid("7001"), p.text(SHOPPER_TEXT), messaging_type="RESPONSE", metadata="op-1")


async def test_send_success_is_parsed_and_token_only_in_header(meta: Meta, session: Session) -> None:
    fake, server = meta
    fake.script.append((200, {"recipient_id": "7001", "message_id": "m_1"}, {"X-App-Usage": '{"call_count": 28}'}))
    client = client_for(session, server, Sleeps())
    result = await client.send(SEND)
    assert (result.message_id, result.recipient_id) == ("m_1", "7001")
    [seen] = fake.seen
    assert (seen.method, seen.path) == ("POST", "/graph/v25.0/me/messages")
    assert seen.authorization == f"Bearer {TOKEN}"
    assert TOKEN not in seen.path + seen.query and "access_token" not in seen.query
    assert seen.body == SEND
    assert client.last_usage.app == {"call_count": 28}


async def test_transient_500_is_retried_once_then_succeeds(meta: Meta, session: Session) -> None:
    fake, server = meta
    fake.script.extend([graph_error(2, status=500), (200, {"recipient_id": "7001", "message_id": "m_2"}, {})])
    sleeps = Sleeps()
    result = await client_for(session, server, sleeps).send(SEND)
    assert result.message_id == "m_2"
    assert len(fake.seen) == 2 and len(sleeps.planned) == 1
    assert 0 <= sleeps.planned[0] <= 0.2 * 0.001 + 1e-9  # first transient window is 0.2 s, scaled


async def test_throttle_waits_the_time_meta_asks(meta: Meta, session: Session) -> None:
    fake, server = meta
    row = {"type": "messenger", "call_count": 100, "estimated_time_to_regain_access": 1}
    usage = {"X-Business-Use-Case-Usage": json.dumps({"104455001234567": [row]})}
    fake.script.extend([graph_error(613, headers=usage), (200, {"message_id": "m_3"}, {})])
    sleeps = Sleeps()
    started = time.monotonic()
    result = await client_for(session, server, sleeps).send(SEND)
    assert result.message_id == "m_3"
    assert sleeps.planned == [pytest.approx(60 * 0.001)]
    assert time.monotonic() - started >= 0.06


async def test_throttle_without_estimate_backs_off_from_about_a_second(meta: Meta, session: Session) -> None:
    fake, server = meta
    fake.script.extend([graph_error(80006), (200, {"message_id": "m_7"}, {})])
    sleeps = Sleeps()
    assert (await client_for(session, server, sleeps).send(SEND)).message_id == "m_7"
    [planned] = sleeps.planned
    assert 1 * 0.001 <= planned <= 2 * 0.001


async def test_throttle_longer_than_cap_is_raised_for_rescheduling(meta: Meta, session: Session) -> None:
    fake, server = meta
    usage = json.dumps({"1": [{"type": "messenger", "estimated_time_to_regain_access": 5}]})
    fake.script.append(graph_error(80006, headers={"X-Business-Use-Case-Usage": usage}))
    sleeps = Sleeps()
    with pytest.raises(GraphThrottled) as caught:
        await client_for(session, server, sleeps).send(SEND)
    assert caught.value.retry_after == 300.0
    assert len(fake.seen) == 1 and sleeps.planned == []


async def test_permanent_error_is_raised_after_one_request(
    meta: Meta, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, server = meta
    fake.script.append(graph_error(10, 2018278))
    sleeps = Sleeps()
    with pytest.raises(OutsideWindow) as caught:
        await client_for(session, server, sleeps).send(SEND)
    assert (caught.value.code, caught.value.subcode, caught.value.fbtrace_id) == (10, 2018278, "Ftrace9")
    assert len(fake.seen) == 1 and sleeps.planned == []
    assert "code=10 subcode=2018278 fbtrace_id=Ftrace9" in caplog.text
    assert TOKEN not in caplog.text and SHOPPER_TEXT not in caplog.text


async def test_marketing_api_generic_100_is_token_invalid(meta: Meta, session: Session) -> None:
    fake, server = meta
    fake.script.extend([graph_error(100), (200, {"success": True, "marketing_message_tracking_id": "t-1"}, {})])
    client = client_for(session, server, Sleeps())
    body = rb.marketing_api_body("4000", "NMT-1", p.text("We're live"), min_conversation_gap_seconds=3600)
    with pytest.raises(TokenInvalid):
        await client.send_marketing(body)
    result = await client.send_marketing(body)
    assert (result.tracking_id, result.success) == ("t-1", True)
    assert [s.path for s in fake.seen] == ["/graph/v25.0/act_300000000000003/messages"] * 2
    assert fake.seen[0].body["messenger_delivery_data"] == {"subscription_token": "NMT-1"}


async def test_network_error_after_send_is_not_retried(
    meta: Meta, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, server = meta
    fake.script.append(DROP)
    sleeps = Sleeps()
    with pytest.raises(GraphNetworkError) as caught:
        await client_for(session, server, sleeps).send(SEND)
    assert caught.value.sent_maybe is True
    assert len(fake.seen) == 1 and sleeps.planned == []
    assert TOKEN not in caplog.text and TOKEN not in str(caught.value)


async def test_timeout_after_send_is_not_retried(meta: Meta) -> None:
    fake, server = meta
    fake.script.append(HANG)
    sleeps = Sleeps()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3, connect=0.2)) as short:
        with pytest.raises(GraphNetworkError) as caught:
            await client_for(short, server, sleeps).send(SEND)
    assert caught.value.sent_maybe is True
    assert len(fake.seen) == 1 and sleeps.planned == []


async def test_idempotent_read_is_retried_after_a_drop(meta: Meta, session: Session) -> None:
    fake, server = meta
    # aiohttp itself resends an idempotent GET once after a disconnect; the second drop reaches us
    fake.script.extend([DROP, DROP, (200, {"data": [{"get_started": {"payload": "GET_STARTED"}}]}, {})])
    sleeps = Sleeps()
    profile = await client_for(session, server, sleeps).get_messenger_profile(["get_started", "greeting"])
    assert profile == {"get_started": {"payload": "GET_STARTED"}}
    assert len(fake.seen) == 3 and len(sleeps.planned) == 1
    assert fake.seen[2].query == "fields=get_started,greeting"


async def test_connection_refused_is_retried(session: Session) -> None:
    with socket.socket() as sock:  # a port nobody listens on (yet)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeMeta(deque([(200, {"recipient_id": "7001", "message_id": "m_4"}, {})]))
    server = TestServer(fake.app(), host="127.0.0.1", port=port)

    async def come_up() -> None:
        if not server.started:
            await server.start_server()

    sleeps = Sleeps(then=come_up)
    base = f"http://127.0.0.1:{port}/graph/v25.0"
    client = GraphClient(session, base_url=base, page_token=Secret(TOKEN), wait_scale=0.001, sleep=sleeps)
    try:
        result = await client.send(SEND)
    finally:
        await server.close()
    assert result.message_id == "m_4"
    assert len(sleeps.planned) == 1 and len(fake.seen) == 1


async def test_connection_refused_gives_up_after_max_attempts(session: Session) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    base = f"http://127.0.0.1:{port}/graph/v25.0"
    token = Secret(TOKEN)
    client = GraphClient(session, base_url=base, page_token=token, max_attempts=3, wait_scale=0.001, sleep=sleeps)
    with pytest.raises(GraphNetworkError) as caught:
        await client.send(SEND)
    assert caught.value.sent_maybe is False and len(sleeps.planned) == 2


async def test_unreadable_2xx_on_send_is_uncertain(meta: Meta, session: Session) -> None:
    fake, server = meta
    fake.script.append((200, "<html>oops", {}))
    with pytest.raises(SendUncertain):
        await client_for(session, server, Sleeps()).send(SEND)
    assert len(fake.seen) == 1


async def test_other_endpoints(meta: Meta, session: Session) -> None:
    fake, server = meta
    ok = (200, {"result": "success"}, {})
    fake.script.extend([
        (200, {"recipient_id": "7001"}, {}),
        (200, {"recipient_id": "", "message_id": "m_5"}, {}),
        ok,
        ok,
        (200, {"id": "55", "status": "LIVE"}, {}),
    ])
    client = client_for(session, server, Sleeps())
    await client.sender_action("7001", "typing_on")
    reply = await client.private_reply("987_11", p.text("Thanks!"))
    await client.set_messenger_profile({"get_started": {"payload": "GET_STARTED"}})
    await client.delete_messenger_profile(["persistent_menu"])
    video = await client.get_live_video("55", ["status", "title"])
    assert reply.message_id == "m_5" and video["status"] == "LIVE"
    assert [(s.method, s.path) for s in fake.seen] == [
        ("POST", "/graph/v25.0/me/messages"),
        ("POST", "/graph/v25.0/me/messages"),
        ("POST", "/graph/v25.0/me/messenger_profile"),
        ("DELETE", "/graph/v25.0/me/messenger_profile"),
        ("GET", "/graph/v25.0/55"),
    ]
    assert fake.seen[0].body == {"recipient": {"id": "7001"}, "sender_action": "typing_on"}
    assert fake.seen[1].body["recipient"] == {"comment_id": "987_11"}
    assert fake.seen[3].body == {"fields": ["persistent_menu"]}
    assert fake.seen[4].query == "fields=status,title"
    assert all(s.authorization == f"Bearer {TOKEN}" for s in fake.seen)


async def test_create_owns_its_session(meta: Meta) -> None:
    fake, server = meta
    fake.script.append((200, {"message_id": "m_6"}, {}))
    async with await GraphClient.create(settings_for(str(server.make_url("/graph")))) as client:
        assert (await client.send(SEND)).message_id == "m_6"


# --- payload builders -------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: p.quick_replies("Pick", [(f"opt {i}", f"P{i}") for i in range(14)]),
        lambda: p.quick_replies("Pick", [("x" * 21, "P")]),
        lambda: p.postback_button("x" * 21, "P"),
        lambda: p.text("x" * 2001),
        lambda: p.text(""),
        lambda: p.button_template("Hi", [p.postback_button(f"b{i}", "P") for i in range(4)]),
        lambda: p.button_template("x" * 641, [p.postback_button("b", "P")]),
        lambda: p.notification_messages_request("x" * 66, "{}"),
        lambda: p.notification_messages_request("Get daily reminders", "{}", cta_text="NOPE"),
        lambda: p.one_time_notif_request("x" * 66, "P"),
        lambda: p.generic_template([p.generic_element(f"t{i}") for i in range(11)]),
        lambda: p.generic_element("x" * 81),
        lambda: p.web_url_button("Watch", "javascript:alert(1)"),
        lambda: rb.send_body(rb.to_psid("1"), p.text("hi"), messaging_type="MESSAGE_TAG"),
        lambda: rb.send_body(rb.to_psid("1"), p.text("hi"), tag="PROMO"),
        lambda: rb.send_body(rb.to_psid("1"), p.text("hi"), metadata="m" * 1000),
        lambda: rb.sender_action_body("1", "dance"),
        lambda: rb.marketing_api_body("c", "t", p.button_template("Hi", [p.postback_button("b", "P")])),
        lambda: rb.marketing_api_body("c", "t", p.text("hi"), min_conversation_gap_seconds=-1),
    ],
)
def test_payload_builders_reject_over_limit_input(build: Callable[[], object]) -> None:
    with pytest.raises(PayloadError):
        build()


def test_payload_builders_build_meta_shapes() -> None:
    optin = p.notification_messages_request("Get daily reminders", '{"topic":"daily"}', timezone="Asia/Manila")
    assert optin["attachment"]["payload"] == {
        "template_type": "notification_messages",
        "title": "Get daily reminders",
        "payload": '{"topic":"daily"}',
        "notification_messages_cta_text": "FREQUENCY",
        "notification_messages_timezone": "Asia/Manila",
    }
    qr = p.quick_replies("Want a daily reminder?", [(f"t{i}", f"P{i}") for i in range(13)])
    assert len(qr["quick_replies"]) == 13
    assert qr["quick_replies"][0] == {"content_type": "text", "title": "t0", "payload": "P0"}
    tagged = rb.send_body(rb.to_otn_token("OTN-1"), p.text("live"), tag="POST_PURCHASE_UPDATE")
    assert tagged["messaging_type"] == "MESSAGE_TAG" and tagged["recipient"] == {"one_time_notif_token": "OTN-1"}
    watch = p.web_url_button("Watch", "https://x.shop")
    card = p.generic_template([p.generic_element("We're LIVE", "40% off", buttons=[watch])])
    body = rb.marketing_api_body("4000", "NMT-1", card)
    assert body["message_id"] == "4000" and "min_conversation_gap_seconds" not in body
    assert rb.to_marketing_token("NMT-1") == {"notification_messages_token": "NMT-1"}
    assert rb.send_body(rb.to_psid("1"), p.text("hi"), metadata="op")["message"] == {"text": "hi", "metadata": "op"}


async def test_a_sender_that_reschedules_throttles_gets_them_at_once_with_each_answers_usage(
        meta: Meta, session: Session) -> None:
    """The send worker pauses the Page itself: no throttle may wait inside its call (issue 8, finding 7)."""
    fake, server = meta
    usage = {"X-Business-Use-Case-Usage": json.dumps({"1": [{"type": "messenger", "call_count": 91}]})}
    fake.script.extend([graph_error(613), graph_error(4, status=429), (200, {"message_id": "m_8"}, usage)])
    sleeps = Sleeps()
    client = client_for(session, server, sleeps)
    for code in (613, 4):
        with pytest.raises(GraphThrottled) as caught:
            await client.send(SEND, reschedule_throttles=True)
        assert caught.value.code == code
    assert len(fake.seen) == 2 and sleeps.planned == []
    result = await client.send(SEND, reschedule_throttles=True)
    assert result.message_id == "m_8" and result.usage.max_percent == 91
