"""The consent ledger, exported: ``GET /api/subscribers?topic=&format=json|csv`` and ``salebell subscribers``.

One row per shopper holding a marketing subscription or an OTN token for the topic:
``psid``, ``status`` (``active``, ``stopped``, ``opted_out``, ``unreachable``), which
tokens they hold (never the tokens themselves), opt-in time and time zone; JSON adds
the counts per status. CSV is streamed, so a large ledger never sits in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, BinaryIO
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.admin import AdminApi, invalid
from bot.admin_client import CliError, add_client_arguments, client_for
from bot.cli import command
from bot.consent import ConsentStore
from bot.keys import Keys
from bot.pages import page_runtime
from bot.settings import Settings

COLUMNS = ("psid", "status", "marketing_token", "otn_tokens", "path", "timezone", "opted_in_ms")
STATUSES = ("active", "stopped", "opted_out", "unreachable")
# 1-64 characters, none of them '|' (the ledger's separator) or a control character (a header's end)
TOPIC_PATTERN = "^[^|\\x00-\\x1f\\x7f]{1,64}$"
CSV_CHUNK = 500

ROW = {"type": "object", "properties": {
    "psid": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
    "marketing_token": {"type": "boolean"}, "otn_tokens": {"type": "integer"}, "path": {"type": "string"},
    "timezone": {"type": "string"}, "opted_in_ms": {"type": "integer"}}}
LEDGER = {"type": "object", "properties": {
    "topic": {"type": "string"},
    "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    "subscribers": {"type": "array", "items": ROW}}}

api = AdminApi()


async def ledger_rows(redis: Redis, keys: Keys, topic: str) -> AsyncIterator[dict[str, Any]]:
    async for row in ConsentStore(redis, keys).ledger(topic):
        yield row


async def ledger_json(redis: Redis, keys: Keys, topic: str) -> dict[str, Any]:
    """The whole ledger of a topic with counts per status."""
    rows = [row async for row in ledger_rows(redis, keys, topic)]
    counts = Counter(str(r["status"]) for r in rows)
    return {"topic": topic, "counts": {**{s: counts.get(s, 0) for s in STATUSES}, "total": len(rows)},
            "subscribers": rows}


def csv_lines(rows: list[dict[str, Any]], header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _file_safe(topic: str) -> str:
    """The topic as it can stand in a header's quoted file name (a space or a quote would end it)."""
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", topic)


def _topic_and_format(topic: str | None, fmt: str | None, settings: Settings) -> tuple[str, str]:
    topic = (topic or settings.optin_topic).strip()
    fmt = (fmt or "json").lower()
    if not topic or len(topic) > 64 or "|" in topic:
        raise invalid("topic must be 1-64 characters without '|'")
    if fmt not in ("json", "csv"):
        raise invalid("format must be json or csv")
    return topic, fmt


@api.route("GET", "/api/subscribers", "Consent ledger of a topic: each shopper's status and token kinds",
           response=LEDGER, other_media={"text/csv": {"type": "string", "description": "a header line, then a row "
                                                                                   "per shopper (COLUMNS)"}},
           query=(("topic", {"type": "string", "pattern": TOPIC_PATTERN, "description": "default: OPTIN_TOPIC"},
                   False), ("format", {"type": "string", "enum": ["json", "csv"], "default": "json"}, False)))
async def subscribers(request: web.Request) -> web.StreamResponse:
    runtime = page_runtime(request)
    topic, fmt = _topic_and_format(request.query.get("topic"), request.query.get("format"), runtime.settings)
    redis, keys = runtime.redis, runtime.keys
    if fmt == "json":
        return web.json_response(await ledger_json(redis, keys, topic))
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="subscribers-{_file_safe(topic)}.csv"'})
    await response.prepare(request)
    await response.write(csv_lines([], header=True).encode())
    batch: list[dict[str, Any]] = []
    async for row in ledger_rows(redis, keys, topic):
        batch.append(row)
        if len(batch) >= CSV_CHUNK:
            await response.write(csv_lines(batch).encode())
            batch = []
    if batch:
        await response.write(csv_lines(batch).encode())
    await response.write_eof()
    return response


async def export(settings: Settings, args: argparse.Namespace, topic: str, out: BinaryIO) -> None:
    """Stream ``GET /api/subscribers`` of the served bot to ``out`` (the CLI goes through the admin API,
    like every host command: ``--url``/``--token``/``SALEBELL_API_URL``, never Redis directly)."""
    query = urlencode({"topic": topic, "format": args.format})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60)) as session:
        client = client_for(session, args, settings)
        await client.download(f"/api/subscribers?{query}", out.write)
    out.flush()


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_client_arguments(parser)
    parser.add_argument("--topic", default=None, help="topic (default: OPTIN_TOPIC)")
    parser.add_argument("--format", default="csv", choices=("csv", "json"))


@command("subscribers", "Export a topic's consent ledger (psid, status, token kinds) as CSV or JSON", _arguments)
def subscribers_command(args: argparse.Namespace, settings: Settings) -> int:
    topic = (args.topic or settings.optin_topic).strip()
    try:
        asyncio.run(export(settings, args, topic, sys.stdout.buffer))
    except CliError as exc:
        print(f"salebell: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `salebell subscribers | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's own flush at exit does not fail again
        return 0
    return 0
