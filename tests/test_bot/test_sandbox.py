"""The Messenger sandbox over real HTTP: shopper API, webhooks and their signature.

The sandbox runs alone on a real port; a tiny aiohttp "bot" stands in for the
real webhook, checks every signature and records what it receives. Fixtures
here are imported by the other ``test_sandbox_*`` modules; ``redis`` and
``page_id`` (a fresh Page per test, its keys deleted afterwards) come from
``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from yarl import URL

from bot.sandbox import create_sandbox_app
from bot.sandbox.webhooks import PAGE_INBOX_APP_ID
from bot.settings import Settings
from bot.signature import HEADER, is_valid

HOUR = 3600
DAY = 24 * HOUR
ServerFactory = Callable[..., Awaitable[Any]]


class BotStandIn:
    """Records signed webhooks; answers ``status`` (403 on a bad signature, like the real bot)."""

    def __init__(self, app_secret: str) -> None:
        self.app_secret = app_secret
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.requests = 0
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.requests += 1
        if not is_valid(self.app_secret, raw, request.headers.get(HEADER)):
            self.bad_signatures += 1
            return web.Response(status=403)
        if self.status == 200:
            self.bodies.append(json.loads(raw))
        return web.Response(status=self.status)

    def items(self, field: str = "messaging") -> list[dict[str, Any]]:
        return [item for body in self.bodies for entry in body["entry"] for item in entry.get(field, [])]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll ``predicate`` until it is truthy (returned) or the deadline passes (fail)."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate()
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail("the expected webhook did not arrive in time")
            await asyncio.sleep(0.01)


class SandboxClient:
    """Talks to a running sandbox over HTTP, the way tests, benchmarks and the chat page do."""

    def __init__(self, http: aiohttp.ClientSession, base: URL, settings: Settings, bot: BotStandIn,
                 app: web.Application) -> None:
        self.http, self.base, self.settings, self.bot, self.app = http, base, settings, bot, app
        self.token = settings.page_access_token.reveal()

    async def call(self, method: str, path: str, body: Any = None, *, expect: int | None = 200,
                   params: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, self.base / path.lstrip("/"), json=body, params=params) as resp:
            answer = await resp.json()
            if expect is not None:
                assert resp.status == expect, answer
            return answer

    async def shopper(self, name: str = "Ana Cruz") -> str:
        return str((await self.call("POST", "shoppers", {"name": name}))["psid"])

    async def say(self, psid: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
        answer = await self.call("POST", f"shoppers/{psid}/messages", {"text": text, **extra})
        assert answer["webhook_status"] == 200, answer
        return dict(answer)

    async def advance(self, seconds: float) -> None:
        await self.call("POST", "clock", {"advance_seconds": seconds})

    async def graph(self, body: Any, *, node: str = "me", edge: str = "messages", method: str = "POST",
                    token: str | None = None, in_query: bool = False) -> tuple[int, dict[str, Any], Any]:
        token = self.token if token is None else token
        url = self.base / "graph" / "v25.0" / node
        url = url / edge if edge else url
        headers = {} if in_query else {"Authorization": f"Bearer {token}"}
        if in_query:
            url = url.with_query(access_token=token)
        async with self.http.request(method, url, json=body, headers=headers) as resp:
            return resp.status, await resp.json(), resp.headers

    async def send(self, psid: str, text: str = "hello", messaging_type: str = "RESPONSE",
                   **extra: Any) -> tuple[int, dict[str, Any]]:
        body = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": {"text": text}, **extra}
        status, answer, _ = await self.graph(body)
        return status, answer

    async def inbox(self, psid: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"shoppers/{psid}/inbox"))["messages"])


def error_of(answer: dict[str, Any]) -> tuple[int, int | None]:
    error = answer["error"]
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    return error["code"], error.get("error_subcode")


@pytest.fixture
async def bot(aiohttp_server: ServerFactory) -> tuple[BotStandIn, str]:
    stand_in = BotStandIn(Settings().app_secret.reveal())
    app = web.Application()
    app.router.add_post("/webhook", stand_in.handle)
    server = await aiohttp_server(app)
    return stand_in, str(server.make_url("/webhook"))


async def start_sandbox(aiohttp_server: ServerFactory, redis: Redis, page_id: str, bot: tuple[BotStandIn, str],
                        **options: Any) -> tuple[web.Application, URL, Settings]:
    settings = Settings().replace(page_id=page_id, webhook_url=bot[1])
    app = create_sandbox_app(settings, redis, **options)
    server = await aiohttp_server(app)
    return app, server.make_url("/sandbox/"), settings


@pytest.fixture
async def sandbox(aiohttp_server: ServerFactory, redis: Redis, page_id: str,
                  bot: tuple[BotStandIn, str]) -> AsyncIterator[SandboxClient]:
    app, base, settings = await start_sandbox(aiohttp_server, redis, page_id, bot)
    async with aiohttp.ClientSession() as http:
        yield SandboxClient(http, base, settings, bot[0], app)


# -- shopper API and webhooks ---------------------------------------------------

async def test_message_reaches_the_bot_signed_and_meta_shaped(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    assert len(psid) == 16 and psid.isdigit()
    answer = await sandbox.say(psid, "Ñam, remind me ✨")
    body = sandbox.bot.bodies[-1]
    assert body["object"] == "page"
    entry = body["entry"][0]
    assert entry["id"] == sandbox.settings.page_id and entry["time"] > 10**12  # ms
    item = entry["messaging"][0]
    assert item["sender"] == {"id": psid} and item["recipient"] == {"id": sandbox.settings.page_id}
    assert item["message"] == {"mid": answer["mid"], "text": "Ñam, remind me ✨"}
    assert item["timestamp"] == answer["timestamp"]
    assert sandbox.bot.bad_signatures == 0


async def test_quick_reply_standby_and_referral(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    status, _ = await sandbox.send(psid, "Daily?", message={"text": "Daily?", "quick_replies": [
        {"content_type": "text", "title": "Yes please", "payload": "WANT_DAILY"}]})
    assert status == 200
    await sandbox.call("POST", f"shoppers/{psid}/messages", {"quick_reply": {"payload": "WANT_DAILY"}})
    assert sandbox.bot.items()[-1]["message"]["quick_reply"] == {"payload": "WANT_DAILY"}
    assert sandbox.bot.items()[-1]["message"]["text"] == "Yes please"
    await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "psst", "standby": True})
    assert sandbox.bot.bodies[-1]["entry"][0]["standby"][0]["message"]["text"] == "psst"
    referral = {"ref": "live-sale-june", "source": "SHORTLINK", "type": "OPEN_THREAD"}
    await sandbox.call("POST", f"shoppers/{psid}/messages", {"referral": referral})
    assert sandbox.bot.items()[-1]["referral"] == referral


async def test_get_started_postback_uses_the_profile_payload(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.call("POST", f"shoppers/{psid}/postbacks", {}, expect=409)
    status, answer, _ = await sandbox.graph({"get_started": {"payload": "GET_STARTED"}}, edge="messenger_profile")
    assert (status, answer) == (200, {"result": "success"})
    await sandbox.call("POST", f"shoppers/{psid}/postbacks", {})
    postback = sandbox.bot.items()[-1]["postback"]
    assert postback["payload"] == "GET_STARTED" and postback["title"] == "Get Started" and postback["mid"]
    status, _ = await sandbox.send(psid)
    assert status == 200  # a postback opens the window


async def test_comment_is_a_feed_change_and_opens_no_window(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper("Ana Cruz")
    post = await sandbox.call("POST", "posts", {"message": "Denim drop", "live": False})
    comment = await sandbox.call("POST", f"posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    assert comment["webhook_status"] == 200
    entry = sandbox.bot.bodies[-1]["entry"][0]
    assert entry["time"] < 10**11  # seconds for changes
    change = entry["changes"][0]
    assert change["field"] == "feed"
    value = change["value"]
    assert (value["item"], value["verb"], value["comment_id"]) == ("comment", "add", comment["comment_id"])
    assert value["from"] == {"id": psid, "name": "Ana Cruz"} and value["post_id"] == post["post_id"]
    assert value["parent_id"] == post["post_id"] and value["message"] == "LIVE"
    status, answer = await sandbox.send(psid)
    assert status == 400 and error_of(answer) == (10, 2018278)


async def test_live_video_status_webhooks_and_graph_read(sandbox: SandboxClient) -> None:
    post = await sandbox.call("POST", "posts", {"message": "We are live", "live": True})
    video = post["live_video_id"]
    change = sandbox.bot.bodies[-1]["entry"][0]["changes"][0]
    assert change == {"field": "live_videos", "value": {"id": video, "status": "live"}}
    status, answer, _ = await sandbox.graph(None, node=video, edge="", method="GET")
    assert status == 200 and answer["status"] == "LIVE" and answer["title"] == "We are live"
    await sandbox.call("POST", f"posts/{post['post_id']}/live", {"status": "live_stopped"})
    assert sandbox.bot.bodies[-1]["entry"][0]["changes"][0]["value"] == {"id": video, "status": "live_stopped"}
    status, answer, _ = await sandbox.graph(None, node=video, edge="", method="GET")
    assert answer["status"] == "LIVE_STOPPED"
    plain = await sandbox.call("POST", "posts", {"message": "no video"})
    await sandbox.call("POST", f"posts/{plain['post_id']}/live", {"status": "live"}, expect=409)


async def test_page_inbox_message_is_echoed(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    answer = await sandbox.call("POST", f"shoppers/{psid}/page-messages", {"text": "Hi, Maria here"})
    item = sandbox.bot.items()[-1]
    assert item["sender"] == {"id": sandbox.settings.page_id} and item["recipient"] == {"id": psid}
    assert item["message"]["is_echo"] is True and item["message"]["app_id"] == PAGE_INBOX_APP_ID
    assert item["message"]["mid"] == answer["mid"]
    inbox = await sandbox.inbox(psid)
    assert inbox[-1]["via"] == "page_inbox" and inbox[-1]["message"] == {"text": "Hi, Maria here"}


async def test_a_failing_bot_is_retried_then_reported(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    sandbox.bot.status = 500
    answer = await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "hi"})
    assert answer["webhook_status"] == 500 and answer["webhook_attempts"] == 4
    assert sandbox.bot.requests == 4


async def test_clock_moves_forward_only(sandbox: SandboxClient) -> None:
    before = await sandbox.call("GET", "clock")
    after = await sandbox.call("POST", "clock", {"advance_seconds": DAY})
    assert after["offset_ms"] == before["offset_ms"] + DAY * 1000
    assert after["now_ms"] >= before["now_ms"] + DAY * 1000
    await sandbox.call("POST", "clock", {"advance_seconds": -1}, expect=400)


async def test_unknown_shopper_and_bad_input(sandbox: SandboxClient) -> None:
    await sandbox.call("POST", "shoppers/1234/messages", {"text": "x"}, expect=404)
    await sandbox.call("POST", "shoppers", {}, expect=400)
    psid = await sandbox.shopper()
    await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "x", "timestamp": "yesterday"}, expect=400)


async def test_reset_forgets_the_sandbox_records(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    assert (await sandbox.call("POST", "reset"))["deleted"] > 0
    await sandbox.call("GET", f"shoppers/{psid}/inbox", expect=404)


async def test_mounted_under_a_parent_app(aiohttp_server: ServerFactory, redis: Redis, page_id: str,
                                          bot: tuple[BotStandIn, str]) -> None:
    settings = Settings().replace(page_id=page_id, webhook_url=bot[1])
    parent = web.Application()
    parent.add_subapp("/sandbox/", create_sandbox_app(settings, redis))
    server = await aiohttp_server(parent)
    async with aiohttp.ClientSession() as http:
        client = SandboxClient(http, server.make_url("/sandbox/"), settings, bot[0], parent)
        psid = await client.shopper()
        await client.say(psid)
        status, answer = await client.send(psid)
        assert status == 200 and answer["recipient_id"] == psid
        # the sub-app's cleanup_ctx ran: the receipt pump delivers
        await bot[0].wait_for(lambda: [i for i in bot[0].items() if "delivery" in i])


async def test_chat_page_is_served(sandbox: SandboxClient) -> None:
    async with sandbox.http.get(sandbox.base) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
    assert "shoppers/${psid}/thread" in page and "optins" in page and "prompt(" not in page


async def test_a_redis_outage_is_a_503_with_the_reason_and_one_log_line(
        tmp_path: Any, serve: Any, page_id: str, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16: Redis trouble read as an opaque 500 in the sandbox, and its receipt pump logged about ten
    tracebacks a second while Redis was down."""
    from bot.storage import connect  # noqa: PLC0415
    from tests.support.redis_server import RedisProcess  # noqa: PLC0415

    private = RedisProcess(tmp_path)
    private.start()
    redis = connect(private.url)
    settings = Settings.from_env({"FB_PAGE_ID": page_id, "REDIS_URL": private.url})
    client = await serve(create_sandbox_app(settings, redis, receipt_interval=0.05))
    try:
        assert (await client.post("/shoppers", json={"name": "Ana"})).status == 200
        private.stop()
        with caplog.at_level("WARNING"):
            answers = [await client.post("/shoppers", json={"name": "Bo"}) for _ in range(5)]
            await asyncio.sleep(1.0)  # the receipt pump meets the outage too, ~20 times
        assert {a.status for a in answers} == {503}
        assert "cannot reach Redis" in (await answers[0].json())["error"]
        unavailable = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert 1 <= len(unavailable) <= 2 and not [r for r in caplog.records if r.exc_info]
    finally:
        await redis.aclose()
        private.stop()
