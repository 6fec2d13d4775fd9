"""An Instagram live video's status (issue 15): a private reply to a comment on it goes only while it is
broadcast, and the bot knows the status before the call.

Meta sends no webhook when an Instagram live ends; the bot asks ``GET /{ig-user-id}/live_media`` (only the
live videos being broadcast) just before such a reply (``bot.instagram_live``), and refuses ``live_ended``
before any send. Everything goes over real HTTP through the sandbox's Graph API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from tests.conftest import SandboxBot
from tests.test_bot.test_instagram import counters, ig_shopper
from tests.test_dialogue.test_dialogue import start_bot

Serve = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def bot(serve: Serve, redis: Redis, page_id: str) -> SandboxBot:
    return await start_bot(serve, redis, page_id)


async def live_post(bot: SandboxBot) -> str:
    post = await bot.call("POST", "/sandbox/posts", {"message": "Live now", "channel": "instagram", "live": True})
    return str(post["post_id"])


async def day_numbers(bot: SandboxBot) -> dict[str, int]:
    rt = bot.runtime
    raw = await rt.redis.hgetall(rt.keys.daily_stats(rt.outbox.day(await rt.clock.now_ms())))
    return {k.decode(): int(v) for k, v in raw.items()}


async def test_a_comment_on_an_instagram_live_that_ended_gets_no_private_reply_refused_before_any_send(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    media = await live_post(bot)
    comment = await bot.call("POST", f"/sandbox/posts/{media}/comments", {"psid": igsid, "message": "LIVE"})
    assert comment["webhook_status"] == 200  # a live_comments webhook, queued while the video was live
    await bot.call("POST", f"/sandbox/posts/{media}/live", {"status": "live_stopped"})  # the host ends it
    await bot.drain()
    record = await bot.runtime.outbox.record(f"dlg:cmt:{comment['comment_id']}:add:0")
    assert record is not None and (record.state, record.reason) == ("skipped", "live_ended")
    assert not [m for m in await bot.inbox(igsid) if m.get("comment_id") == comment["comment_id"]]
    calls = await bot.sent()
    assert not [c for c in calls if comment["comment_id"] in json.dumps(c.get("request"))]  # no send was tried
    reads = [c for c in calls if c["path"].split("?")[0].endswith(f"/{bot.settings.instagram_account_id}/live_media")]
    assert len(reads) == 1 and reads[0]["status"] == 200 and reads[0]["answer"] == {"data": []}
    numbers = await day_numbers(bot)
    assert numbers.get("skipped|live_ended") == 1 and numbers.get("ch|instagram|skipped|live_ended") == 1, numbers
    assert (await counters(bot)).get("sends_total|skipped|live_ended") == 1


async def test_while_the_live_runs_the_reply_goes_and_one_read_serves_the_replies_of_a_few_seconds(
        bot: SandboxBot) -> None:
    media = await live_post(bot)
    shoppers = [await ig_shopper(bot, name) for name in ("Ina", "Ivo", "Ida")]
    comments = [await bot.call("POST", f"/sandbox/posts/{media}/comments", {"psid": s, "message": "LIVE"})
                for s in shoppers]
    await bot.drain()
    for shopper, comment in zip(shoppers, comments):
        assert [m["via"] for m in await bot.inbox(shopper) if m.get("comment_id") == comment["comment_id"]] == [
            "instagram_comment"]
    reads = [c for c in await bot.sent() if c["path"].split("?")[0].endswith("/live_media")]
    assert len(reads) == 1 and reads[0]["answer"] == {"data": [{"id": media}]}


async def test_the_sandbox_lists_only_lives_being_broadcast_and_sends_no_comment_webhook_after_the_end(
        bot: SandboxBot) -> None:
    igsid = await ig_shopper(bot)
    running, ended = await live_post(bot), await live_post(bot)
    await bot.call("POST", "/sandbox/posts", {"message": "a photo", "channel": "instagram"})
    await bot.call("POST", f"/sandbox/posts/{ended}/live", {"status": "vod"})
    url = f"/sandbox/graph/{bot.settings.graph_api_version}/{bot.settings.instagram_account_id}/live_media?fields=id"
    token = {"Authorization": f"Bearer {bot.settings.page_access_token.reveal()}"}
    resp = await bot.client.get(url, headers=token)
    assert resp.status == 200 and await resp.json() == {"data": [{"id": running}]}
    assert (await bot.client.get(url)).status in (400, 401)  # no token
    late = await bot.call("POST", f"/sandbox/posts/{ended}/comments", {"psid": igsid, "message": "LIVE"})
    assert late["webhook_status"] is None  # Meta's comment notifications for a live stop when it ends
    await bot.drain()
    assert not (await counters(bot)).get("events_total|comment")
