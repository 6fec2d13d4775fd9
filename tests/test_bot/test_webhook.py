"""POST/GET /webhook: handshake, signatures, limits, and storing before the 200."""

from __future__ import annotations

import io
import json

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.secret import Secret
from bot.settings import Settings
from tests.support.raw_http import exchange, status_of
from tests.support.webhooks import message_item, messaging_body, signed


@pytest.fixture
async def client(serve, settings: Settings, redis: Redis) -> TestClient:
    return await serve(create_app(settings, redis, run_workers=False))


async def test_handshake_echoes_the_challenge(client: TestClient, settings: Settings) -> None:
    token = settings.verify_token.reveal()
    resp = await client.get("/webhook", params={"hub.mode": "subscribe", "hub.verify_token": token,
                                                "hub.challenge": "1158201444"})
    assert resp.status == 200
    assert await resp.text() == "1158201444"


@pytest.mark.parametrize("mode,token", [("subscribe", "wrong"), ("unsubscribe", None), ("subscribe", "")])
async def test_handshake_refused(client: TestClient, settings: Settings, mode: str, token: str | None) -> None:
    params = {"hub.mode": mode, "hub.verify_token": token if token is not None else settings.verify_token.reveal(),
              "hub.challenge": "42"}
    resp = await client.get("/webhook", params=params)
    assert resp.status == 403
    assert "42" not in await resp.text()


async def test_good_signature_is_stored_then_acknowledged(client: TestClient, settings: Settings,
                                                          redis: Redis, keys: Keys) -> None:
    raw, headers = signed(messaging_body(settings.page_id, message_item(settings.page_id, "71", "hi")),
                          settings.app_secret.reveal())
    resp = await client.post("/webhook", data=raw, headers=headers)
    assert resp.status == 200
    entries = await redis.xrange(keys.inbox)
    assert [fields[b"b"] for _, fields in entries] == [raw]


async def test_non_ascii_body_is_checked_on_raw_bytes(client: TestClient, settings: Settings, redis: Redis,
                                                      keys: Keys) -> None:
    # Meta signs the escaped form ("\u00e9"); re-serialising would break the check.
    raw = ('{"object":"page","entry":[{"id":"%s","time":1,"messaging":[]}],"note":"caf\\u00e9"}'
           % settings.page_id).encode()
    raw, headers = signed(raw, settings.app_secret.reveal())
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 200
    assert await redis.xlen(keys.inbox) == 1


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
async def test_bad_signature_is_refused_and_nothing_stored(client: TestClient, settings: Settings, redis: Redis,
                                                           keys: Keys, header: str | None) -> None:
    raw = json.dumps(messaging_body(settings.page_id, message_item(settings.page_id, "71", "hi"))).encode()
    headers = {"X-Hub-Signature-256": header} if header else {}
    resp = await client.post("/webhook", data=raw, headers=headers)
    assert resp.status == 403
    assert await redis.xlen(keys.inbox) == 0


async def test_signature_with_another_secret_is_refused(client: TestClient, settings: Settings, redis: Redis,
                                                        keys: Keys) -> None:
    raw, headers = signed(messaging_body(settings.page_id), "not-the-app-secret")
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 403
    assert await redis.xlen(keys.inbox) == 0


@pytest.mark.parametrize("raw", [b"not json", b'{"object": "whatsapp_business_account", "entry": []}', b"[1,2]",
                                 b'{"object": "page"}', b'{"object": "page", "entry": {}}'])
async def test_not_a_page_event_is_400(client: TestClient, settings: Settings, redis: Redis, keys: Keys,
                                       raw: bytes) -> None:
    raw, headers = signed(raw, settings.app_secret.reveal())
    resp = await client.post("/webhook", data=raw, headers=headers)
    assert resp.status == 400
    assert "error" in await resp.json()
    assert await redis.xlen(keys.inbox) == 0


async def test_body_over_one_mib_is_413(client: TestClient, settings: Settings, redis: Redis, keys: Keys) -> None:
    raw, headers = signed(b'{"object":"page","entry":[],"pad":"' + b"x" * (1024 * 1024) + b'"}',
                          settings.app_secret.reveal())
    assert (await client.post("/webhook", data=io.BytesIO(raw), headers=headers)).status == 413
    assert await redis.xlen(keys.inbox) == 0


async def test_verify_token_never_reaches_the_log(client: TestClient, settings: Settings, caplog) -> None:
    caplog.set_level("DEBUG")
    await client.get("/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "guess-123",
                                         "hub.challenge": "1"})
    await client.get("/webhook", params={"hub.mode": "subscribe",
                                         "hub.verify_token": settings.verify_token.reveal(), "hub.challenge": "1"})
    assert "guess-123" not in caplog.text
    assert settings.verify_token.reveal() not in caplog.text


async def test_metrics_count_webhook_statuses(client: TestClient, settings: Settings) -> None:
    raw, headers = signed(messaging_body(settings.page_id), settings.app_secret.reveal())
    await client.post("/webhook", data=raw, headers=headers)
    await client.post("/webhook", data=raw, headers={})
    text = await (await client.get("/metrics")).text()
    assert 'salebell_webhook_requests_total{status="200"} 1.0' in text
    assert 'salebell_webhook_requests_total{status="403"} 1.0' in text


async def test_healthz(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["redis"] == "ok"


# -- finding 2 of issue 8: no input gives a 5xx --------------------------------------------------

@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_json_constants_outside_rfc_8259_are_400(client: TestClient, settings: Settings, redis: Redis,
                                                       keys: Keys, caplog, constant: bytes) -> None:
    raw = b'{"object":"page","entry":[{"id":"%s","time":1,"messaging":[{"sender":{"id":"1"},' \
          b'"recipient":{"id":"2"},"timestamp":%s,"message":{"mid":"m","text":"x"}}]}]}' % (
              settings.page_id.encode(), constant)
    raw, headers = signed(raw, settings.app_secret.reveal())
    resp = await client.post("/webhook", data=raw, headers=headers)
    assert resp.status == 400
    assert await resp.json() == {"error": "body is not JSON"}
    assert constant.lstrip(b"-").decode() in caplog.text  # the logged reason names what was refused
    assert await redis.xlen(keys.inbox) == 0


@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deeply_nested_json_is_400_not_500(client: TestClient, settings: Settings, redis: Redis,
                                                 keys: Keys, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    raw = b'{"object":"page","entry":[{"id":"%s","time":1,"messaging":[]}],"x":%s}' % (
        settings.page_id.encode(), nested)
    raw, headers = signed(raw, settings.app_secret.reveal())
    resp = await client.post("/webhook", data=raw, headers=headers)
    assert resp.status == 400
    assert await resp.json() == {"error": "body is not JSON"}
    assert await redis.xlen(keys.inbox) == 0


async def test_a_body_that_is_not_utf8_is_400(client: TestClient, settings: Settings) -> None:
    raw = b'{"object":"page","entry":[],"x":"caf\xe9"}'
    raw, headers = signed(raw, settings.app_secret.reveal())
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 400


@pytest.mark.parametrize("value", [b"sha256=\xff\xfe", b"\xc3\x28" + b"0" * 64, b"sha256=" + b"\xe9" * 64])
async def test_signature_header_with_bytes_that_are_not_utf8_is_403(client: TestClient, settings: Settings,
                                                                     redis: Redis, keys: Keys,
                                                                     value: bytes) -> None:
    raw = json.dumps(messaging_body(settings.page_id, message_item(settings.page_id, "71", "hi"))).encode()
    request = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"X-Hub-Signature-256: " + value + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(raw)
               + raw)
    assert client.port is not None
    response = await exchange(client.port, request)
    assert status_of(response) == 403, response
    assert await redis.xlen(keys.inbox) == 0


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe", b"\xff Bearer", b"Bearer s3cret\xe9"])
async def test_authorization_with_bytes_that_are_not_utf8_is_401(serve, settings: Settings, redis: Redis,
                                                                  value: bytes) -> None:
    settings = settings.replace(admin_token=Secret("s3cret"))
    client = await serve(create_app(settings, redis, run_workers=False))
    for authorization, status in ((b"Bearer s3cret", 404), (value, 401)):  # the route is unknown, past the auth
        request = (b"GET /api/live-sales HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + authorization
                   + b"\r\nConnection: close\r\n\r\n")
        assert client.port is not None
        response = await exchange(client.port, request)
        assert status_of(response) == status, response

