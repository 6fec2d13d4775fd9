"""Dashboard sign-in, sessions and CSRF, and the admin API's two ways in (bearer, session cookie)."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.dashboard.keys import session_key
from bot.dashboard.sessions import COOKIE, SESSION_SECONDS, SessionStore
from bot.runtime import Runtime
from bot.secret import Secret
from bot.settings import Settings
from tests.conftest import bounded
from tests.test_live_sales.conftest import TOKEN, Shop


async def sign_in(client: TestClient, token: str = TOKEN) -> Any:
    return await client.post("/dashboard/sign-in", data={"token": token}, allow_redirects=False)


def cookie_of(resp: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def signed_in(shop: Shop) -> tuple[str, str]:
    """Sign in; the session id (cookie) and the CSRF token from the page's meta tag."""
    resp = await sign_in(shop.client)
    assert resp.status == 303, await resp.text()
    session_id = cookie_of(resp)[COOKIE].value
    page = await shop.client.get("/dashboard/", headers={"Cookie": f"{COOKIE}={session_id}"}, allow_redirects=False)
    assert page.status == 200
    html = await page.text()
    csrf = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return session_id, csrf


def with_cookie(session_id: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={session_id}", **headers}


async def test_wrong_token_gets_401_page_and_no_cookie(shop: Shop) -> None:
    resp = await sign_in(shop.client, "not-the-token")
    assert resp.status == 401
    assert "not the admin token" in await resp.text()
    assert "Set-Cookie" not in resp.headers
    empty = await shop.client.post("/dashboard/sign-in", data={}, allow_redirects=False)
    assert empty.status == 401 and "Set-Cookie" not in empty.headers


async def test_token_in_the_url_signs_nobody_in(shop: Shop) -> None:
    resp = await shop.client.post(f"/dashboard/sign-in?token={TOKEN}", data={}, allow_redirects=False)
    assert resp.status == 401 and "Set-Cookie" not in resp.headers


async def test_right_token_sets_a_strict_http_only_cookie(shop: Shop) -> None:
    resp = await sign_in(shop.client)
    assert resp.status == 303 and resp.headers["Location"] == "/dashboard/"
    morsel = cookie_of(resp)[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == SESSION_SECONDS
    assert not morsel["secure"]  # sandbox mode over http
    assert TOKEN not in resp.headers["Set-Cookie"]


async def test_session_lives_in_redis_under_the_deployment_prefix(shop: Shop, redis: Redis) -> None:
    session_id, csrf = await signed_in(shop)
    key = session_key(hashlib.sha256(session_id.encode()).hexdigest())
    assert key.startswith("sb:{deployment}:session:")
    assert await redis.hget(key, "csrf") == csrf.encode()
    assert 0 < await redis.ttl(key) <= SESSION_SECONDS
    assert not [k async for k in redis.scan_iter(match=f"*{session_id}*")]  # the id itself is no key


async def test_production_cookie_is_secure(serve: Any, redis: Redis, page_id: str, settings: Settings) -> None:
    prod = settings.replace(admin_token=Secret(TOKEN))
    runtime = Runtime(prod, redis)
    client = await serve(create_app(prod, redis, runtime=runtime, plugins=["live_sales"], run_workers=False))
    try:
        resp = await sign_in(client)
        assert resp.status == 303
        morsel = cookie_of(resp)[COOKIE]
        assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Strict"
    finally:
        await bounded(runtime.stop(), "stop the runtime")


async def test_shell_needs_a_session(shop: Shop) -> None:
    resp = await shop.client.get("/dashboard/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/dashboard/sign-in"
    bogus = await shop.client.get("/dashboard/", headers=with_cookie("x" * 43), allow_redirects=False)
    assert bogus.status == 303
    moved = await shop.client.get("/dashboard", allow_redirects=False)
    assert moved.status == 301 and moved.headers["Location"] == "/dashboard/"


async def test_cookie_reads_but_changes_need_the_csrf_token(shop: Shop) -> None:
    session_id, csrf = await signed_in(shop)
    listed = await shop.client.get("/api/live-sales", headers=with_cookie(session_id))
    assert listed.status == 200
    body = {"title": "Denim drop", "url": "https://shop.test/live"}
    refused = await shop.client.post("/api/live-sales", json=body, headers=with_cookie(session_id))
    assert refused.status == 403
    error = (await refused.json())["error"]
    assert error["status"] == 403 and "X-CSRF-Token" in error["message"]
    wrong = await shop.client.post("/api/live-sales", json=body,
                                   headers=with_cookie(session_id, **{"X-CSRF-Token": csrf[:-2] + "xx"}))
    assert wrong.status == 403
    assert (await shop.api("GET", "/api/live-sales"))["live_sales"] == []  # nothing was created
    made = await shop.client.post("/api/live-sales", json=body,
                                  headers=with_cookie(session_id, **{"X-CSRF-Token": csrf}))
    assert made.status == 201, await made.text()


async def test_sign_out_ends_the_session(shop: Shop, redis: Redis) -> None:
    session_id, csrf = await signed_in(shop)
    stale_form = await shop.client.post("/dashboard/sign-out", data={"csrf": "nope"}, headers=with_cookie(session_id),
                                        allow_redirects=False)
    assert stale_form.status == 403  # a cross-site form cannot sign anyone out
    out = await shop.client.post("/dashboard/sign-out", data={"csrf": csrf}, headers=with_cookie(session_id),
                                 allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/dashboard/sign-in"
    assert cookie_of(out)[COOKIE].value == ""
    assert not await redis.exists(session_key(hashlib.sha256(session_id.encode()).hexdigest()))
    after = await shop.client.get("/api/live-sales", headers=with_cookie(session_id))
    assert after.status == 401 and "sign in again" in (await after.json())["error"]["message"]
    page = await shop.client.get("/dashboard/", headers=with_cookie(session_id), allow_redirects=False)
    assert page.status == 303


async def test_bearer_still_works_and_is_judged_alone(shop: Shop) -> None:
    assert (await shop.api("GET", "/api/live-sales"))["live_sales"] == []
    await shop.api("POST", "/api/live-sales", {"title": "x", "url": "https://shop.test/a"}, status=201)
    await shop.api("GET", "/api/live-sales", token="wrong", status=401)
    await shop.api("GET", "/api/live-sales", token=None, status=401)
    session_id, _ = await signed_in(shop)
    resp = await shop.client.get("/api/live-sales", headers=with_cookie(session_id, Authorization="Bearer wrong"))
    assert resp.status == 401  # a wrong bearer is not rescued by a cookie


async def test_a_new_admin_token_ends_old_sessions(shop: Shop, redis: Redis) -> None:
    session_id, _ = await signed_in(shop)
    assert await SessionStore(redis, Secret(TOKEN)).find(session_id) is not None
    assert await SessionStore(redis, Secret("rotated-token")).find(session_id) is None


async def test_openapi_names_both_ways_in(shop: Shop) -> None:
    doc = await shop.api("GET", "/api/openapi.json", token=None)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    for path in ("/api/broadcasts/preview", "/api/stats/not-opted-in", "/api/shoppers", "/api/live-sales/{id}/links"):
        assert path in doc["paths"]
    create = doc["paths"]["/api/live-sales"]["post"]
    assert "403" in create["responses"] and "403" not in doc["paths"]["/api/live-sales"]["get"]["responses"]


async def test_shell_lists_registered_panels_and_serves_their_files(shop: Shop) -> None:
    session_id, _ = await signed_in(shop)
    html = await (await shop.client.get("/dashboard/", headers=with_cookie(session_id))).text()
    assert 'data-panel="sales"' in html and "/dashboard/panels/sales/sales.js" in html
    assert "Content-Security-Policy" in (await shop.client.get("/dashboard/sign-in")).headers
    module = await shop.client.get("/dashboard/panels/sales/sales.js")
    assert module.status == 200 and module.content_type == "text/javascript"
    assert (await shop.client.get("/dashboard/panels/sales/nope.js")).status == 404
    assert (await shop.client.get("/dashboard/panels/nope/sales.js")).status == 404
    assert (await shop.client.get("/dashboard/static/..%2Fpages.py")).status == 404
    assert (await shop.client.get("/dashboard/static/dashboard.js")).status == 200


def test_chromium_is_found_where_debian_puts_it_or_where_told(monkeypatch: Any, tmp_path: Any) -> None:
    from tests.test_dashboard.browser import find_chromium  # noqa: PLC0415

    monkeypatch.setenv("SALEBELL_CHROMIUM", str(tmp_path / "missing"))
    assert find_chromium() is None  # the browser tests then skip with the reason (fail in CI)
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SALEBELL_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
