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
import sys
from typing import Any

from bot.cli import command
from bot.errors import ConfigError
from bot.graph import GraphClient, payloads
from bot.settings import Settings

from .kit import GET_STARTED, NEXT_LIVE, OPTIN_YES, STOP_REMINDERS

GREETING_MAX = 160
FIELDS = ("get_started", "greeting", "persistent_menu")
# The webhook fields the bot reads (§1.1). message_echoes is required, not optional: a send whose
# answer was lost is confirmed by its echo (bot/reclaim.py); without echoes every such send waits
# for a Conversations API look-up. The Marketing Message API confirms its sends the same way.
WEBHOOK_FIELDS = ("messages", "messaging_postbacks", "messaging_optins", "message_deliveries", "message_reads",
                  "message_echoes", "messaging_referrals", "messaging_handovers", "standby", "feed", "live_videos")
REQUIRED_ECHOES = ("message_echoes",)


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


def webhook_fields(settings: Settings) -> tuple[str, ...]:
    extra: tuple[str, ...] = ("marketing_message_echoes",) if settings.marketing_path == "marketing_api" else ()
    if settings.utility_messages_enabled:  # a utility template's review (§3.3, §9; bot/utility_templates.py)
        extra += ("message_template_status_update",)
    return WEBHOOK_FIELDS + extra


async def sync_profile(settings: Settings, graph: GraphClient) -> dict[str, Any]:
    """Set the profile through the Messenger Profile API; returns what was set."""
    profile = build_profile(settings)
    await graph.set_messenger_profile(profile)
    return profile


async def sync_subscription(settings: Settings, graph: GraphClient) -> dict[str, Any]:
    """Subscribe the app to the webhook fields the bot reads, then check what Meta says it has.

    Returns the fields and the ones still missing (echoes above all: see ``WEBHOOK_FIELDS``).
    """
    wanted = webhook_fields(settings)
    await graph.subscribe_app(settings.page_id, wanted)
    have = await graph.subscribed_fields(settings.page_id)
    return {"subscribed_fields": have, "missing": [f for f in wanted if f not in have]}


async def _run(settings: Settings, action: str) -> dict[str, Any]:
    async with await GraphClient.create(settings, limit=4) as graph:
        if action == "sync":
            profile = await sync_profile(settings, graph)
            return {**profile, "webhooks": await sync_subscription(settings, graph)}
        have = await graph.subscribed_fields(settings.page_id)
        return {**await graph.get_messenger_profile(FIELDS),
                "webhooks": {"subscribed_fields": have, "missing": [f for f in webhook_fields(settings)
                                                                     if f not in have]}}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("sync", "show"),
                        help="sync: set Get Started, greeting and menu from settings; show: read them back")
    parser.add_argument("--page", default="", help="the Page, by id (default: every Page served)")


@command("profile", "Messenger profile (Get Started, greeting, persistent menu) and the app's webhook fields",
         _arguments)
def profile_command(args: argparse.Namespace, settings: Settings) -> int:
    """For the Page named by ``--page``, else for every Page served (one JSON object each)."""
    if args.page and args.page not in settings.page_ids:
        print(f"salebell: Page {args.page} is not served here (FB_PAGES: {', '.join(settings.page_ids)})",
              file=sys.stderr)
        return 2
    status = 0
    for page_id in [args.page] if args.page else settings.page_ids:
        page = settings.for_page(page_id)
        result = asyncio.run(_run(page, args.action))
        print(json.dumps({"page": page_id, **result} if len(settings.pages) > 1 else result, indent=2,
                         ensure_ascii=False))
        missing = result.get("webhooks", {}).get("missing") or []
        if missing:
            print(f"salebell: the app is not subscribed to {', '.join(missing)} on Page {page_id}; "
                  "without message_echoes a send whose answer was lost waits for a Conversations API look-up",
                  file=sys.stderr)
            status = 1
    return status
