"""``salebell live create|list|show|start|end|cancel``, ``salebell broadcast``, ``salebell stats``,
``salebell utility-templates sync|list``.

Every command talks to the admin API over HTTP (see :mod:`bot.admin_client`), so
it works against a local sandbox and a deployed bot alike. ``--json`` prints the
API's answer as is; otherwise readable tables. ``start --follow`` and
``broadcast --follow`` draw a progress bar until every notification is handled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.admin_client import AdminClient, CliError, add_client_arguments, client_for
from bot.cli import command
from bot.settings import Settings

from . import tables

Action = Callable[[AdminClient, argparse.Namespace], Awaitable[Any]]


def _connection(parser: argparse.ArgumentParser) -> None:
    add_client_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


def _follow_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--follow", action="store_true", help="show a progress bar until the fan-out is done")
    parser.add_argument("--timeout", type=float, default=0, help="stop following after this many seconds")


def _run(args: argparse.Namespace, settings: Settings, action: Action) -> int:
    async def go() -> Any:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            client = client_for(session, args, settings)
            return await action(client, args)

    try:
        result = asyncio.run(go())
    except CliError as exc:
        print(f"salebell: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def _print(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


ERASE_TO_END = "\x1b[K"  # ANSI: clear from the cursor to the end of the line


def _progress(args: argparse.Namespace) -> Callable[[dict[str, Any]], None]:
    """Redraws one line on a terminal; elsewhere prints a line whenever the count moves."""
    last: list[str] = []
    tty = sys.stderr.isatty()

    def show(view: dict[str, Any]) -> None:
        line = tables.progress(view)
        if last and last[0] == line:
            return
        last[:] = [line]
        # on a terminal: back to the line's start, the frame, then erase what a longer frame left
        print(("\r" + line + ERASE_TO_END) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    return show


async def _follow(client: AdminClient, args: argparse.Namespace, path: str, render: Callable[[Any], str]) -> Any:
    view = await client.follow(path, _progress(args), timeout=args.timeout)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _print(args, render(view))
    return view


# -- salebell live ---------------------------------------------------------------
def _live_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="schedule a live sale")
    create.add_argument("--title", required=True)
    create.add_argument("--link", dest="join_url", help="where shoppers join (the Watch now button)")
    create.add_argument("--at", help="scheduled time, ISO 8601 (default: now)")
    create.add_argument("--topic", help="whose subscribers to notify (default: OPTIN_TOPIC)")
    create.add_argument("--post", action="append", default=[], help="a linked post or live-video id (repeatable)")
    create.add_argument("--product", action="append", default=[], help="a product shown (repeatable)")
    create.add_argument("--remind-before", type=int, metavar="MINUTES", help="a reminder this long before --at")
    create.add_argument("--no-start-notification", action="store_true",
                        help="notify only by the reminder, not again when the sale starts")
    listing = actions.add_parser("list", help="list live sales")
    listing.add_argument("--status", choices=("scheduled", "live", "ended"))
    for name, help_ in (("show", "a sale and its numbers"), ("start", "start a sale: notify its subscribers"),
                        ("end", "end a live sale"), ("cancel", "cancel a sale's fan-out")):
        sub = actions.add_parser(name, help=help_)
        sub.add_argument("id")
        if name in ("show", "start"):
            _follow_flags(sub)
    for sub in actions.choices.values():
        _connection(sub)


async def _live(client: AdminClient, args: argparse.Namespace) -> Any:
    if args.action == "create":
        body: dict[str, Any] = {"title": args.title, "post_ids": args.post, "products": args.product,
                                "reminder_minutes": args.remind_before or 0,
                                "notify_at_start": not args.no_start_notification}
        body.update({k: v for k, v in (("url", args.join_url), ("scheduled_at", args.at), ("topic", args.topic))
                     if v})
        view = await client.call("POST", "/api/live-sales", body)
        _print(args, tables.sale(view))
        return view
    if args.action == "list":
        answer = await client.call("GET", "/api/live-sales" + (f"?status={args.status}" if args.status else ""))
        _print(args, tables.sales(answer["live_sales"]))
        return answer
    path = f"/api/live-sales/{args.id}"
    if args.action == "show":
        if args.follow:
            return await _follow(client, args, path, tables.sale)
        view = await client.call("GET", path)
        _print(args, tables.sale(view))
        return view
    if args.action == "cancel":
        answer = await client.call("POST", path + "/cancel")
        _print(args, f"{args.id}: " + ("cancelled" if answer["cancelled"] else "nothing left to queue; "
                                       "queued notifications will be skipped"))
        return answer
    answer = await client.call("POST", f"{path}/{args.action}")
    verb = "started" if args.action == "start" else "ended"
    status = (answer.get("live_sale") or {}).get("status") or answer["outcome"]  # "already" twice read badly
    _print(args, f"{args.id}: {verb}" if answer["changed"] else f"{args.id}: already {status}")
    if args.action == "start" and args.follow:
        return await _follow(client, args, path, tables.sale)
    _print(args, tables.sale(answer["live_sale"]))
    return answer


@command("live", "Live sales: create, list, show, start, end, cancel (through the admin API)", _live_arguments)
def live(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _live)


# -- salebell broadcast --------------------------------------------------------------
def _broadcast_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="the message to send to the topic's subscribers")
    parser.add_argument("--topic", help="whose subscribers (default: OPTIN_TOPIC)")
    parser.add_argument("--link", help="a URL for a button under the text")
    parser.add_argument("--button", help="the button's title (default: Open)")
    parser.add_argument("--show", metavar="ID", help="show a blast's numbers instead of sending one")
    parser.add_argument("--cancel", metavar="ID", help="cancel a blast")
    parser.add_argument("--list", action="store_true", help="list blasts")
    _follow_flags(parser)
    _connection(parser)


async def _broadcast(client: AdminClient, args: argparse.Namespace) -> Any:
    if args.list:
        answer = await client.call("GET", "/api/broadcasts")
        rows = [[b["id"], b["topic"], b["numbers"]["sent"], b["numbers"]["pending"], b["text"][:40]]
                for b in answer["broadcasts"]]
        _print(args, tables.table(["id", "topic", "sent", "pending", "text"], rows) if rows else "no blasts")
        return answer
    if args.cancel:
        answer = await client.call("POST", f"/api/broadcasts/{args.cancel}/cancel")
        _print(args, f"{args.cancel}: cancelled")
        return answer
    if args.show:
        path = f"/api/broadcasts/{args.show}"
        if args.follow:
            return await _follow(client, args, path, tables.broadcast)
        view = await client.call("GET", path)
        _print(args, tables.broadcast(view))
        return view
    if not args.text:
        raise CliError(0, "give the text to send (or --show/--cancel/--list)")
    body = {k: v for k, v in (("text", args.text), ("topic", args.topic), ("url", args.link),
                              ("button_title", args.button)) if v}
    view = await client.call("POST", "/api/broadcasts", body)
    _print(args, f"{view['id']}: sending to the subscribers of {view['topic']}")
    if args.follow:
        return await _follow(client, args, f"/api/broadcasts/{view['id']}", tables.broadcast)
    return view


@command("broadcast", "Send a blast to a topic's subscribers, or show/cancel/list blasts", _broadcast_arguments)
def broadcast(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _broadcast)


# -- salebell stats ---------------------------------------------------------------------
def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    _connection(parser)


async def _stats(client: AdminClient, args: argparse.Namespace) -> Any:
    answer = await client.call("GET", f"/api/stats?days={args.days}")
    _print(args, tables.stats(answer))
    return answer


@command("stats", "Numbers per day: sent, delivered, read, failed and skipped with reasons", _stats_arguments)
def stats(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _stats)


# -- salebell utility-templates -----------------------------------------------------------
def _templates_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("sync", help="create the Page's missing templates (one per order status), record all")
    actions.add_parser("list", help="the recorded templates and their review status")
    for sub in actions.choices.values():
        _connection(sub)


async def _templates(client: AdminClient, args: argparse.Namespace) -> Any:
    if args.action == "sync":
        answer = await client.call("POST", "/api/utility-templates/sync")
        listed = [{**t, "created": True} for t in answer["created"]] + answer["existing"]
        _print(args, tables.table(["name", "status", "id", "created"],
                                  [[t["name"], t["status"], t["id"], "yes" if t.get("created") else ""]
                                   for t in listed]))
        return answer
    answer = await client.call("GET", "/api/utility-templates")
    rows = [[t["name"], t["status"], t["id"]] for t in answer["templates"]]
    _print(args, (tables.table(["name", "status", "id"], rows) if rows else "no templates recorded") +
           ("\nnot approved: " + ", ".join(answer["missing"]) if answer["missing"] else ""))
    return answer


@command("utility-templates", "Utility message templates of order updates: sync them with the Page, list them",
         _templates_arguments)
def utility_templates(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _templates)
