"""The sandbox plays Instagram (issue 15): every Page has an Instagram professional account
(``settings.instagram_account_id``), shoppers made with ``"channel": "instagram"`` are known by an
IGSID, and what they do reaches the bot as ``object: instagram`` webhooks whose entry id is the
account's (messenger-platform.md §1.3, §9).

The shopper calls build Messenger-shaped bodies; :func:`post_for` turns one into Instagram's
(:func:`as_instagram`) when the shopper is on Instagram, so every shopper call works the same for
both channels. Instagram sends no delivery receipts: only ``messaging_seen`` (a ``read`` item, §9).
"""

from __future__ import annotations

from typing import Any

from ..channels import CHANNELS, INSTAGRAM, MESSENGER
from .context import Sandbox
from .errors import BadRequest, Conflict
from .webhooks import Delivery


def channel_of_body(body: dict[str, Any]) -> str:
    """The ``channel`` of a ``POST /sandbox/shoppers`` or ``/sandbox/posts`` body (default messenger)."""
    channel = body.get("channel", MESSENGER)
    if channel not in CHANNELS:
        raise BadRequest("channel must be messenger or instagram")
    return str(channel)


def account_of(sandbox: Sandbox) -> str:
    """The Page's Instagram account id (409 when the Page has none)."""
    account = sandbox.settings.instagram_account_id
    if not account:
        raise Conflict("this Page has no Instagram account (FB_INSTAGRAM_ACCOUNT_ID)")
    return account


def on_instagram(record: dict[str, str] | None) -> bool:
    """A shopper's or a post's record is on Instagram."""
    return bool(record) and record.get("channel") == INSTAGRAM  # type: ignore[union-attr]


def as_instagram(body: dict[str, Any], page_id: str, account_id: str) -> dict[str, Any]:
    """A Messenger-shaped webhook body as Instagram sends it: ``object: instagram``, the account's id for
    the entry and wherever the Page's id stood as sender or recipient."""
    entries = []
    for entry in body["entry"]:
        entry = {**entry, "id": account_id}
        for source in ("messaging", "standby"):
            if source in entry:
                entry[source] = [_swap_ids(item, page_id, account_id) for item in entry[source]]
        entries.append(entry)
    return {"object": "instagram", "entry": entries}


def _swap_ids(item: dict[str, Any], page_id: str, account_id: str) -> dict[str, Any]:
    item = dict(item)
    for side in ("sender", "recipient"):
        if isinstance(item.get(side), dict) and item[side].get("id") == page_id:
            item[side] = {"id": account_id}
    return item


async def post_for(sandbox: Sandbox, shopper: dict[str, str], body: dict[str, Any]) -> Delivery:
    """POST the signed webhook as the shopper's channel sends it."""
    if on_instagram(shopper):
        body = as_instagram(body, sandbox.page_id, account_of(sandbox))
    return await sandbox.webhooks.post(body)


def comment_change(comment_id: str, igsid: str, username: str, text: str, media_id: str, live: bool,
                   now_ms: int) -> tuple[str, dict[str, Any]]:
    """The field and value of an Instagram comment webhook (``comments``, or ``live_comments`` on a live
    video) after Meta's Instagram webhooks reference; ``live_comments`` taken to have the same value [U]."""
    value = {"id": comment_id, "text": text, "from": {"id": igsid, "username": username},
             "media": {"id": media_id, "media_product_type": "LIVE" if live else "FEED"}, "timestamp": now_ms // 1000}
    return ("live_comments" if live else "comments"), value


def instagram_changes_body(account_id: str, now_ms: int, field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": account_id, "time": now_ms // 1000,
                                              "changes": [{"field": field, "value": value}]}]}
