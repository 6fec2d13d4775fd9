"""Extending and operating the dialogue: a new intent file, a remote action server, the profile, the ledger."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk.executor import ActionExecutor
from redis.asyncio import Redis

from bot import cli
from bot.settings import SANDBOX_PAGE_TOKEN
from dialogue.keys import DialogueKeys
from tests.conftest import REDIS_URL, SandboxBot
from tests.support.redis_server import free_port
from tests.test_dialogue.test_dialogue import (  # noqa: F401
    PLUGIN,
    TITLE,
    Serve,
    bot,
    cards,
    chat,
    kind,
    opt_in,
    start_bot,
    tap,
    texts,
)

SIZE_CHART = '''"""Size chart: the shopper asks for the size guide."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dialogue.intent import Intent


class ActionSizeChart(Action):
    def name(self) -> str:
        return "action_size_chart"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text="Here's our size chart 📏 S: 34-36 · M: 37-39 · L: 40-42",
            buttons=[{"title": "Full size guide", "url": "https://shop.example/sizes"}],
        )
        return [SlotSet("asked_size_chart", True)]


INTENT = Intent(
    name="size_chart",
    keywords=("size chart", "size guide"),
    patterns=(r"\\bsize (?:chart|guide)\\b",),
    examples=("may size chart po ba?",),
    languages=("en", "tl"),
    action=ActionSizeChart,
)
'''

OWN_GREETING = '''from rasa_sdk import Action


class ShopGreeting(Action):
    def name(self):
        return "action_greeting"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Kumusta! Welcome to Tindahan ni Ana 🌸")
        return []
'''


@pytest.fixture
def shop_intents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page_id: str) -> Iterator[str]:
    """A shop's own intents package, outside bot/ and intents/."""
    name = f"shop_intents_{page_id}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "size_chart.py").write_text(SIZE_CHART)
    (package / "greeting_override.py").write_text(OWN_GREETING)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module]


async def test_a_new_intent_file_is_answered_end_to_end(serve: Serve, redis: Redis, page_id: str,
                                                        shop_intents: str) -> None:
    bot = await start_bot(serve, redis, page_id, intents_packages=("intents", shop_intents))
    psid = await bot.shopper()
    got = await chat(bot, psid, "do you have a size guide?")
    assert [kind(m) for m in got] == ["button"]
    template = got[0]["message"]["attachment"]["payload"]
    assert template["text"].startswith("Here's our size chart") and template["buttons"][0]["type"] == "web_url"
    state = json.loads(await redis.get(DialogueKeys.of(bot.runtime.keys).tracker(psid)))
    assert state["slots"]["asked_size_chart"] is True  # the action's SlotSet was applied
    assert texts(await chat(bot, psid, "hello po")) == ["Kumusta! Welcome to Tindahan ni Ana 🌸"]  # replaced
    assert cards(await chat(bot, psid, "LIVE"))  # the built-ins still answer


async def action_server(serve: Serve, packages: tuple[str, ...] = ("intents",),
                        calls: list[dict[str, Any]] | None = None) -> str:
    """A rasa action server running ``packages`` (rasa-sdk's executor over HTTP); its calls go in ``calls``."""
    executor = ActionExecutor()
    for package in packages:
        executor.register_package(package)

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        if calls is not None:
            calls.append(body)
        result = await executor.run(body)
        return web.json_response({"events": result.events, "responses": result.responses} if result else {})

    server = web.Application()
    server.router.add_post("/webhook", webhook)
    return str((await serve(server)).make_url("/webhook"))


async def test_actions_named_in_remote_actions_run_on_a_rasa_action_server(serve: Serve, redis: Redis,
                                                                          page_id: str) -> None:
    calls: list[dict[str, Any]] = []
    bot = await start_bot(serve, redis, page_id, action_server_url=await action_server(serve, calls=calls),
                          remote_actions=("action_opt_in_reminders",))
    try:
        psid = await bot.shopper()
        assert [c["title"] for c in cards(await chat(bot, psid, "LIVE"))] == [TITLE]
        assert calls[0]["next_action"] == "action_opt_in_reminders"
        assert calls[0]["tracker"]["sender_id"] == psid
        assert calls[0]["tracker"]["slots"]["optin_title"] == TITLE
        assert calls[0]["tracker"]["latest_message"]["intent"]["name"] == "opt_in_reminders"
    finally:
        await bot.runtime.context["dialogue"].close()


async def test_with_an_action_server_the_shops_actions_go_there_and_the_built_ins_stay(
        serve: Serve, redis: Redis, page_id: str, shop_intents: str) -> None:
    calls: list[dict[str, Any]] = []
    url = await action_server(serve, ("intents", shop_intents), calls)
    bot = await start_bot(serve, redis, page_id, intents_packages=("intents", shop_intents), action_server_url=url)
    try:
        psid = await bot.shopper()
        assert [kind(m) for m in await chat(bot, psid, "do you have a size guide?")] == ["button"]
        assert [c["next_action"] for c in calls] == ["action_size_chart"]  # the shop's own: remote
        assert cards(await chat(bot, psid, "LIVE"))
        assert [c["next_action"] for c in calls] == ["action_size_chart"]  # a built-in: in-process
    finally:
        await bot.runtime.context["dialogue"].close()


async def test_when_the_action_server_is_down_the_local_action_answers(serve: Serve, redis: Redis, page_id: str,
                                                                       shop_intents: str) -> None:
    down = f"http://127.0.0.1:{free_port()}/webhook"  # nothing listens there
    bot = await start_bot(serve, redis, page_id, intents_packages=("intents", shop_intents), action_server_url=down,
                          remote_actions=("action_size_chart", "action_opt_in_reminders"))
    try:
        psid = await bot.shopper()
        assert [kind(m) for m in await chat(bot, psid, "do you have a size guide?")] == ["button"]
        assert [c["title"] for c in cards(await chat(bot, psid, "LIVE"))] == [TITLE]
    finally:
        await bot.runtime.context["dialogue"].close()


def cli_env(monkeypatch: pytest.MonkeyPatch, bot: SandboxBot, **extra: str) -> None:
    monkeypatch.delenv("FB_PAGE_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("GRAPH_API_URL", raising=False)
    env = {"FB_PAGE_ID": bot.settings.page_id, "PORT": str(bot.settings.port), "REDIS_URL": REDIS_URL,
           "SALEBELL_PLUGINS": PLUGIN, **extra}
    for name, value in env.items():
        monkeypatch.setenv(name, value)


async def test_profile_sync_sets_get_started_greeting_and_menu(bot: SandboxBot, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cli_env(monkeypatch, bot, SHOP_URL="https://shop.test", OPTIN_KEYWORDS="SALE")
    assert await asyncio.to_thread(cli.main, ["profile", "sync"]) == 0
    capsys.readouterr()
    read = await bot.call("GET", "/sandbox/graph/v25.0/me/messenger_profile?fields=get_started,greeting,"
                                 f"persistent_menu&access_token={SANDBOX_PAGE_TOKEN}")
    profile = read["data"][0]
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    assert "SALE" in profile["greeting"][0]["text"]
    menu = {item["title"]: item.get("payload") or item.get("url")
            for item in profile["persistent_menu"][0]["call_to_actions"]}
    assert menu["Stop reminders"] == "STOP_REMINDERS" and menu["Shop"] == "https://shop.test"
    psid = await bot.shopper()
    got = await tap(bot, psid)  # Get Started, with the payload the profile set
    assert any("welcome" in t.lower() for t in texts(got)) and cards(got)
    assert await asyncio.to_thread(cli.main, ["profile", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["get_started"]["payload"] == "GET_STARTED"
    assert "message_echoes" in shown["webhooks"]["subscribed_fields"]  # sync installed the webhook fields


async def test_profile_show_says_when_the_app_lacks_the_echoes(bot: SandboxBot, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Echoes are how an uncertain send is confirmed: a Page whose app is installed without them is reported."""
    cli_env(monkeypatch, bot)
    fields = "messages,messaging_postbacks,messaging_optins,feed"  # installed by hand, echoes left out
    await bot.call("POST", f"/sandbox/graph/v25.0/{bot.settings.page_id}/subscribed_apps?subscribed_fields={fields}"
                           f"&access_token={SANDBOX_PAGE_TOKEN}")
    assert await asyncio.to_thread(cli.main, ["profile", "show"]) == 1
    out = capsys.readouterr()
    assert "message_echoes" in json.loads(out.out)["webhooks"]["missing"]
    assert "not subscribed to" in out.err and "message_echoes" in out.err
    assert await asyncio.to_thread(cli.main, ["profile", "sync"]) == 0  # sync installs every field it needs
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["profile", "show"]) == 0


async def test_subscribers_ledger_over_the_api_and_the_cli(bot: SandboxBot, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    active, opted_out, stopped = [await bot.shopper(n) for n in ("a", "b", "c")]
    for psid in (active, opted_out, stopped):
        await chat(bot, psid, "LIVE")
        await opt_in(bot, psid)
    await chat(bot, opted_out, "stop")
    await bot.call("POST", f"/sandbox/shoppers/{stopped}/notifications", {"title": TITLE, "action": "stop"})
    await bot.runtime.drain()
    auth = {"Authorization": f"Bearer {bot.settings.admin_token.reveal()}"}
    assert (await bot.client.get("/api/subscribers")).status == 401
    resp = await bot.client.get("/api/subscribers", headers=auth)
    ledger = await resp.json()
    assert ledger["counts"] == {"active": 1, "stopped": 1, "opted_out": 1, "unreachable": 0, "total": 3}
    assert {r["psid"]: r["status"] for r in ledger["subscribers"]} == {
        active: "active", opted_out: "opted_out", stopped: "stopped"}
    assert all("token" not in json.dumps(r).replace("marketing_token", "").replace("otn_tokens", "")
               for r in ledger["subscribers"])  # token kinds only, never a token
    resp = await bot.client.get("/api/subscribers?format=csv&topic=daily_reminders", headers=auth)
    lines = (await resp.text()).splitlines()
    assert resp.headers["Content-Type"].startswith("text/csv") and lines[0].startswith("psid,status,")
    assert len(lines) == 4
    assert (await bot.client.get("/api/subscribers?format=xml", headers=auth)).status == 422
    assert "/api/subscribers" in (await (await bot.client.get("/api/openapi.json")).json())["paths"]
    # the CLI goes through the served API (issue 16: it read Redis directly and ignored --url/--token)
    cli_env(monkeypatch, bot, REDIS_URL="redis://127.0.0.1:1/0", ADMIN_TOKEN=bot.settings.admin_token.reveal())
    assert await asyncio.to_thread(cli.main, ["subscribers", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["total"] == 3
    assert await asyncio.to_thread(cli.main, ["subscribers", "--token", "wrong"]) == 1
    assert "401" in capsys.readouterr().err
    await asyncio.gather(*(bot.runtime.consent.opt_in(f"9{n:07d}", "daily_reminders", f"tok{n}", path="marketing_api",
                                                      timezone="", at_ms=1) for n in range(4000)))
    piped = await asyncio.create_subprocess_shell(  # more than a pipe holds, into `head`: no BrokenPipeError
        f"{sys.executable} -m bot subscribers | head -1", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(piped.communicate(), 60)
    assert out.decode().startswith("psid,status,") and b"Traceback" not in err, err


async def test_a_ledger_topic_that_would_break_the_csv_header_is_refused(bot: SandboxBot) -> None:
    """A control character in the topic went into Content-Disposition: aiohttp refused the header, a 500
    (found by schemathesis); it is a 422 now, and a topic with a space or a quote still gets a safe file name."""
    auth = {"Authorization": f"Bearer {bot.settings.admin_token.reveal()}"}
    resp = await bot.client.get("/api/subscribers?format=csv&topic=a%0Ab", headers=auth)
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "topic"
    resp = await bot.client.get('/api/subscribers?format=csv&topic=live%20"drops"', headers=auth)
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="subscribers-live__drops_.csv"'
