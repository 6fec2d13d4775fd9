"""Delivery and read webhooks for accepted messages, batched.

A live-sale fan-out to 100,000 shoppers must not become 200,000 webhook POSTs:
every ~100 ms the task pops what the send script queued, keeps per shopper the
newest message timestamp as the watermark (§2.7), and POSTs one body holding
many ``messaging[]`` items (at most 1000, Meta's batch size).

With the setting ``echo_delay_ms`` the echoes of a batch are POSTed that much
later than its receipts (held in this process), as when Meta's echo of a send
arrives after the bot has already reclaimed the job.

Receipts of Instagram shoppers (issue 15) go in ``object: instagram`` bodies with the Instagram
account as entry and sender: their echoes and a ``read`` (``messaging_seen``, with the last ``mid``
[U]) but no delivery item, since Instagram has no delivery receipts (messenger-platform.md §9).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError

from ..backoff import Backoff, Outage
from ..clock import Clock
from ..streams import sleep_or_stop
from .graph_api import MARKETING_ECHO
from .instagram import as_instagram
from .ledger import Ledger, Receipt
from .state import SandboxState
from .webhooks import WebhookSender, echo, from_shopper, messaging_body

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.1
TAKE_AT_ONCE = 5000
ITEMS_PER_POST = 1000


def marketing_echo_changes(receipts: list[Receipt]) -> list[dict[str, Any]]:
    """A ``marketing_message_echoes`` change per Marketing Message API send (its tracking id and token).

    Meta lists the field among the Page's webhooks with these three values (§3.9); that it comes as a
    ``changes[]`` item is our reading [U].
    """
    changes = []
    for r in receipts:
        if r.metadata.startswith(MARKETING_ECHO):
            tracking_id, _, token = r.metadata[len(MARKETING_ECHO):].partition(":")
            changes.append({"field": "marketing_message_echoes", "value": {
                "marketing_message_tracking_id": tracking_id, "messenger_subscription_token": token,
                "message_id": r.mid, "timestamp": r.timestamp}})
    return changes


def echo_items(page_id: str, app_id: int, receipts: list[Receipt]) -> list[dict[str, Any]]:
    """An echo per message that carried ``metadata``: the bot matches them to its send jobs."""
    items = []
    for r in receipts:
        if r.metadata and not r.metadata.startswith(MARKETING_ECHO):
            item = echo(page_id, r.psid, r.timestamp, r.mid, "", app_id)
            del item["message"]["text"]
            item["message"]["metadata"] = r.metadata.replace("\\u0020", " ")
            items.append(item)
    return items


def receipt_items(page_id: str, receipts: list[Receipt], now_ms: int, reads: bool) -> list[dict[str, Any]]:
    """One delivery (and one read) item per shopper, watermark = their newest message."""
    newest: dict[str, int] = {}
    mids: dict[str, list[str]] = {}
    for receipt in receipts:
        newest[receipt.psid] = max(newest.get(receipt.psid, 0), receipt.timestamp)
        mids.setdefault(receipt.psid, []).append(receipt.mid)
    items = [from_shopper(page_id, psid, now_ms, delivery={"mids": mids[psid], "watermark": mark})
             for psid, mark in newest.items()]
    if reads:
        items += [from_shopper(page_id, psid, now_ms, read={"watermark": mark}) for psid, mark in newest.items()]
    return items


class ReceiptPump:
    """Background task: drains the receipt queue into batched webhooks until cancelled."""

    def __init__(self, page_id: str, ledger: Ledger, clock: Clock, sender: WebhookSender,
                 interval: float = INTERVAL_SECONDS, app_id: int = 0, state: SandboxState | None = None,
                 instagram_account: str = "") -> None:
        self._page_id = page_id
        self._state = state  # where the shoppers' channels are read (None: every shopper on Messenger)
        self._instagram = instagram_account
        self._app_id = app_id
        self._interval = interval
        self._ledger = ledger
        self._clock = clock
        self._sender = sender
        self._held: set[asyncio.Task[None]] = set()  # echoes waiting out ``echo_delay_ms``

    async def run(self, stop: asyncio.Event) -> None:
        """Collect for one interval, send, repeat (at once while the queue holds a full batch), until ``stop``.

        The loop ends on the event, not on cancellation alone: a cancellation can be swallowed
        inside a client library, and a pump that outlived it kept its app's cleanup waiting forever.
        """
        drained = 0
        backoff, outage = Backoff(first=0.5, most=5.0), Outage(log, "sandbox receipts")
        try:
            while not stop.is_set():
                if drained < TAKE_AT_ONCE:
                    await sleep_or_stop(stop, self._interval)
                    if stop.is_set():
                        return
                try:
                    drained = await self.pump_once()
                    outage.recovered()
                    backoff.reset()
                except (RedisError, OSError) as exc:  # one line per outage, not ten tracebacks a second
                    outage.failed(exc)
                    drained = 0
                    await backoff.wait(stop)
                except Exception:  # the bot hiccupped; what was not taken waits in Redis
                    log.exception("receipt batch failed")
                    drained = 0
        finally:
            for task in self._held:
                task.cancel()

    async def pump_once(self) -> int:
        """Send the receipts queued so far; returns how many messages they covered."""
        receipts = await self._ledger.take_receipts(TAKE_AT_ONCE)
        if not receipts:
            return 0
        config = await self._ledger.config()
        now = await self._clock.now_ms()
        instagram = await self._instagram_shoppers(receipts)
        instagram_receipts = [r for r in receipts if r.psid in instagram]
        if instagram_receipts:  # their echoes and seen go now, in object: instagram bodies
            await self._post_instagram(instagram_receipts, now, config)
            receipts = [r for r in receipts if r.psid not in instagram]
        echoes = echo_items(self._page_id, self._app_id, receipts) if config["echoes"] else []
        changes = marketing_echo_changes(receipts) if config["echoes"] else []
        delay = int(config["echo_delay_ms"]) / 1000
        if (echoes or changes) and delay > 0:
            task = asyncio.create_task(self._post_later(delay, now, echoes, changes), name="sandbox-late-echoes")
            self._held.add(task)
            task.add_done_callback(self._held.discard)
            echoes, changes = [], []
        items = echoes + receipt_items(self._page_id, receipts, now, bool(config["read_receipts"]))
        # deliveries first, then reads: split so that no shopper's read precedes its delivery
        await self._post(now, items, changes)
        return len(receipts) + len(instagram_receipts)

    async def _instagram_shoppers(self, receipts: list[Receipt]) -> set[str]:
        if self._state is None or not self._instagram:
            return set()
        channels = await self._state.channels(sorted({r.psid for r in receipts}))
        return {psid for psid, channel in channels.items() if channel == "instagram"}

    async def _post_instagram(self, receipts: list[Receipt], now: int, config: dict[str, Any]) -> None:
        """Post the Instagram shoppers' echoes and seen items now (``echo_delay_ms`` is not modelled for them)."""
        items: list[dict[str, Any]] = []
        if config["echoes"]:
            items += echo_items(self._page_id, self._app_id, receipts)
        if config["read_receipts"]:
            last: dict[str, Receipt] = {}
            for r in receipts:
                if r.psid not in last or r.timestamp >= last[r.psid].timestamp:
                    last[r.psid] = r
            items += [from_shopper(self._page_id, psid, now, read={"mid": r.mid}) for psid, r in last.items()]
        for start in range(0, len(items), ITEMS_PER_POST):
            body = messaging_body(self._page_id, now, items[start:start + ITEMS_PER_POST])
            await self._sender.post(as_instagram(body, self._page_id, self._instagram))

    async def _post(self, now: int, items: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), ITEMS_PER_POST):
            chunk = items[start:start + ITEMS_PER_POST]
            await self._sender.post(messaging_body(self._page_id, now, chunk))
        for start in range(0, len(changes), ITEMS_PER_POST):
            await self._sender.post({"object": "page", "entry": [
                {"id": self._page_id, "time": now // 1000, "changes": changes[start:start + ITEMS_PER_POST]}]})

    async def _post_later(self, delay: float, now: int, items: list[dict[str, Any]],
                          changes: list[dict[str, Any]]) -> None:
        await asyncio.sleep(delay)
        try:
            await self._post(now, items, changes)
        except Exception:
            log.exception("late echoes failed")
