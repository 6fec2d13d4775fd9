"""``salebell profile sync``: the Page's Get Started button, greeting and persistent menu (§7).

Built from settings: Get Started sends ``GET_STARTED`` (welcome, then the opt-in
request); the greeting is ``GREETING_TEXT`` or a line naming the opt-in keyword; the
menu offers reminders, the next live sale, "Stop reminders" (an opt-out the shopper
can always find) and, with ``SHOP_URL``, the shop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ..cli import command
from ..errors import ConfigError
from ..graph import GraphClient, payloads
from ..settings import Settings
from .kit import GET_STARTED, NEXT_LIVE, OPTIN_YES, STOP_REMINDERS

GREETING_MAX = 160
FIELDS = ("get_started", "greeting", "persistent_menu")


def build_profile(settings: Settings) -> dict[str, Any]:
    """The Messenger profile this bot needs, from settings."""
    keyword = settings.optin_keywords[0]
    greeting = settings.greeting_text or (
        f"Hi {{{{user_first_name}}}}! Type {keyword} and we'll remind you before every live sale.")
    if len(greeting) > GREETING_MAX:
        raise ConfigError(f"GREETING_TEXT is {len(greeting)} characters; Messenger shows at most {GREETING_MAX}")
    menu = [
        payloads.postback_button("Get reminders", OPTIN_YES),
        payloads.postback_button("Next live sale", NEXT_LIVE),
        payloads.postback_button("Stop reminders", STOP_REMINDERS),
    ]
    if settings.shop_url:
        menu.append({**payloads.web_url_button("Shop", settings.shop_url), "webview_height_ratio": "full"})
    return {
        "get_started": {"payload": GET_STARTED},
        "greeting": [{"locale": "default", "text": greeting}],
        "persistent_menu": [{"locale": "default", "composer_input_disabled": False, "call_to_actions": menu}],
    }


async def sync_profile(settings: Settings, graph: GraphClient) -> dict[str, Any]:
    """Set the profile through the Messenger Profile API; returns what was set."""
    profile = build_profile(settings)
    await graph.set_messenger_profile(profile)
    return profile


async def _run(settings: Settings, action: str) -> dict[str, Any]:
    async with await GraphClient.create(settings, limit=4) as graph:
        if action == "sync":
            return await sync_profile(settings, graph)
        return await graph.get_messenger_profile(FIELDS)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("sync", "show"),
                        help="sync: set Get Started, greeting and menu from settings; show: read them back")


@command("profile", "Messenger profile: Get Started, greeting and persistent menu", _arguments)
def profile_command(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(asyncio.run(_run(settings, args.action)), indent=2, ensure_ascii=False))
    return 0
