"""What the sandbox's chat page and Page inbox read: both sides of a thread, the shoppers, the redirect, and
the Messenger profile the bot sets when it starts (Get Started works from the first tap)."""

from __future__ import annotations

from redis.asyncio import Redis

from dialogue.kit import GET_STARTED
from tests.conftest import SandboxBot
from tests.test_dialogue.test_dialogue import Serve, start_bot


async def test_thread_keeps_what_the_shopper_sent_with_the_answers(sandbox_bot: SandboxBot) -> None:
    psid = await sandbox_bot.shopper("Ana Cruz")
    said = await sandbox_bot.says(psid, "LIVE po")
    await sandbox_bot.call("POST", f"/sandbox/shoppers/{psid}/page-messages", {"text": "Hi Ana, a person here"})
    thread = await sandbox_bot.call("GET", f"/sandbox/shoppers/{psid}/thread")
    assert thread["name"] == "Ana Cruz"
    first, second = thread["messages"]
    assert first == {"from": "shopper", "kind": "message", "text": "LIVE po", "timestamp": said["timestamp"],
                     "mid": said["mid"]}
    assert second["from"] == "page" and second["via"] == "page_inbox"
    assert second["message"] == {"text": "Hi Ana, a person here"} and second["timestamp"] >= said["timestamp"]
    assert len(await sandbox_bot.inbox(psid)) == 1  # the inbox still holds only what the shopper received


async def test_taps_and_quick_replies_are_in_the_thread(sandbox_bot: SandboxBot) -> None:
    psid = await sandbox_bot.shopper()
    await sandbox_bot.call("POST", f"/sandbox/shoppers/{psid}/postbacks", {"payload": "NEXT_LIVE", "title": "Next live"})
    await sandbox_bot.call("POST", f"/sandbox/shoppers/{psid}/messages", {"quick_reply": {"payload": "Y", "title": "Yes"}})
    kinds = [(m["kind"], m["text"]) for m in (await sandbox_bot.call("GET", f"/sandbox/shoppers/{psid}/thread"))["messages"]]
    assert kinds == [("postback", "Next live"), ("quick_reply", "Yes")]
    await sandbox_bot.call("GET", "/sandbox/shoppers/nobody/thread", status=404)


async def test_shoppers_are_listed_for_the_page_inbox(sandbox_bot: SandboxBot) -> None:
    ana, ben = await sandbox_bot.shopper("Ana"), await sandbox_bot.shopper("Ben")
    await sandbox_bot.says(ana, "hello")
    listed = (await sandbox_bot.call("GET", "/sandbox/shoppers"))["shoppers"]
    assert [(s["psid"], s["name"]) for s in listed] == [(ana, "Ana"), (ben, "Ben")]  # the latest active first
    page = await sandbox_bot.client.get("/sandbox/page-inbox")
    assert page.status == 200 and "Page inbox" in await page.text()


async def test_sandbox_without_slash_redirects(sandbox_bot: SandboxBot) -> None:
    resp = await sandbox_bot.client.get("/sandbox", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/sandbox/"
    page = await sandbox_bot.client.get("/sandbox")
    assert page.status == 200 and "Your name" in await page.text()
    assert "prompt(" not in await page.text()


async def test_get_started_works_from_the_first_tap(serve: Serve, redis: Redis, page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id)
    try:
        psid = await bot.shopper()
        tapped = await bot.call("POST", f"/sandbox/shoppers/{psid}/postbacks", {})  # no `salebell profile sync`
        assert tapped["webhook_status"] == 200
        await bot.runtime.drain()
        inbox = await bot.inbox(psid)
        assert "welcome" in inbox[0]["message"]["text"].lower()
        said = (await bot.call("GET", f"/sandbox/shoppers/{psid}/thread"))["messages"][0]
        assert said["kind"] == "postback" and said["text"] == "Get Started"
        profile = await bot.call("GET", "/sandbox/graph/v25.0/me/messenger_profile?fields=get_started&"
                                        "access_token=sandbox-page-token")
        assert profile["data"][0]["get_started"] == {"payload": GET_STARTED}
    finally:
        await bot.runtime.stop()


async def test_the_thread_and_the_list_say_each_shoppers_channel(sandbox_bot: SandboxBot) -> None:
    ana = await sandbox_bot.shopper("Ana")
    ina = (await sandbox_bot.call("POST", "/sandbox/shoppers", {"name": "Ina", "channel": "instagram"}))["psid"]
    assert (await sandbox_bot.call("GET", f"/sandbox/shoppers/{ana}/thread"))["channel"] == "messenger"
    assert (await sandbox_bot.call("GET", f"/sandbox/shoppers/{ina}/thread"))["channel"] == "instagram"
    listed = (await sandbox_bot.call("GET", "/sandbox/shoppers"))["shoppers"]
    assert {s["psid"]: s["channel"] for s in listed} == {ana: "messenger", ina: "instagram"}
    page = await (await sandbox_bot.client.get("/sandbox/")).text()
    assert 'data-channel="instagram"' in page and 'name="channel" value="instagram"' in page  # the switch
