"""The dashboard's Conversations panel (issue 14, "Handover"): the kept conversation drawn on the server, and
an agent's reply and "done" through the dashboard's session (CSRF) over real HTTP, refused with the reason."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from tests.test_dashboard.test_auth import signed_in, with_cookie
from tests.test_dialogue.test_agent_replies import Serve, chat, start

DAY = 24 * 3600


async def test_the_panel_shows_what_the_shopper_wrote_and_replies_go_from_it(serve: Serve, redis: Redis,
                                                                            page_id: str) -> None:
    shop = await start(serve, redis, page_id)
    psid = await shop.shopper()
    await chat(shop, psid, "hello?")
    await shop.call("POST", f"/sandbox/shoppers/{psid}/page-messages", {"text": "Mia here!"})
    await shop.runtime.drain()
    await chat(shop, psid, "is the <b>red</b> dress still there?")
    session_id, csrf = await signed_in(shop)
    html = await (await shop.client.get("/dashboard/", headers=with_cookie(session_id))).text()
    assert 'data-panel="conversations"' in html and "/dashboard/panels/conversations/conversations.js" in html
    assert f'data-psid="{psid}"' in html and "Mia here!" in html
    assert "is the &lt;b&gt;red&lt;/b&gt; dress still there?" in html  # escaped, never markup
    assert "bot paused until" in html and "a reply goes as RESPONSE" in html
    module = await shop.client.get("/dashboard/panels/conversations/conversations.js")
    assert module.status == 200

    async def post(path: str, body: Any = None) -> Any:
        resp = await shop.client.post(path, json=body, headers=with_cookie(session_id, **{"X-CSRF-Token": csrf}))
        return resp.status, await resp.json()

    status, queued = await post(f"/api/conversations/{psid}/replies", {"text": "Yes, one left in M."})
    assert status == 202 and queued["route"] == "RESPONSE"
    await shop.runtime.drain()
    assert (await shop.inbox(psid))[-1]["message"]["text"] == "Yes, one left in M."
    await shop.advance(2 * DAY)
    status, refused = await post(f"/api/conversations/{psid}/replies", {"text": "Still there?"})
    assert status == 422 and "HUMAN_AGENT_TAG" in refused["error"]["message"]
    html = await (await shop.client.get("/dashboard/", headers=with_cookie(session_id))).text()
    assert "no reply possible (feature_off)" in html
    no_csrf = await shop.client.post(f"/api/conversations/{psid}/done", headers=with_cookie(session_id))
    assert no_csrf.status == 403
    status, done = await post(f"/api/conversations/{psid}/done")
    assert status == 200 and done["psid"] == psid
