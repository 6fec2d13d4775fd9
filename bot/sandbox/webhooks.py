"""Meta-shaped webhook bodies (messenger-platform.md §1.3, §2), POSTed signed to the bot.

Bodies are encoded the way Meta does it (ASCII with ``\\uXXXX`` escapes) and
signed over those exact bytes. A non-200 answer is retried a few times with a
growing pause, and the last status is reported to the caller. Meta keeps retrying
for hours; with the sandbox setting ``webhook_retry_seconds`` the sender keeps
retrying too (backing off up to ``MAX_BACKOFF``) until the bot accepts or that
budget is spent, so a fault test can ride out an outage the way Meta would.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..settings import Settings
from ..signature import HEADER, sign

log = logging.getLogger(__name__)

PAGE_INBOX_APP_ID = 263902037430900  # the Page Inbox, i.e. a human of the Page (§2.11)
RETRY_PAUSES = (0.05, 0.2, 0.5)  # Meta retries over hours; the sandbox a few times, quickly
TIMEOUT_SECONDS = 20.0  # Meta's webhook timeout (§1.5)
MAX_BACKOFF = 1.0  # longest pause between retries within ``webhook_retry_seconds``

RetryBudget = Callable[[], Awaitable[float]]


async def no_retry_budget() -> float:
    return 0.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one webhook POST: the bot's last status (None if unreachable)."""

    status: int | None
    attempts: int
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {"webhook_status": self.status, "webhook_attempts": self.attempts}
        if self.error:
            report["webhook_error"] = self.error
        return report


class WebhookSender:
    """Signs and POSTs webhook bodies to ``settings.webhook_url``."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings,
                 retry_budget: RetryBudget = no_retry_budget) -> None:
        self._session = session
        self._url = settings.webhook_url
        self._secret = settings.app_secret
        self._retry_budget = retry_budget  # read only once the quick retries failed

    async def post(self, body: dict[str, Any]) -> Delivery:
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
        headers = {"Content-Type": "application/json", HEADER: sign(self._secret.reveal(), raw)}
        loop = asyncio.get_running_loop()
        started = loop.time()
        status, error = await self._attempt(raw, headers)
        attempt = 1
        for pause in RETRY_PAUSES:
            if status == 200:
                break
            await asyncio.sleep(pause)
            status, error = await self._attempt(raw, headers)
            attempt += 1
        if status != 200:
            deadline = started + await self._retry_budget()
            pause = RETRY_PAUSES[-1]
            while status != 200 and loop.time() + pause < deadline:
                await asyncio.sleep(pause)
                status, error = await self._attempt(raw, headers)
                attempt += 1
                pause = min(pause * 2, MAX_BACKOFF)
        if status != 200:
            log.warning("webhook not accepted after %d attempts: status=%s error=%s", attempt, status, error)
        return Delivery(status, attempt, error)

    async def _attempt(self, raw: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        try:
            async with self._session.post(self._url, data=raw, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return None, type(exc).__name__


def messaging_body(page_id: str, now_ms: int, items: list[dict[str, Any]], *, standby: bool = False) -> dict[str, Any]:
    """One entry with ``messaging[]`` (or ``standby[]``); entry time in ms."""
    field = "standby" if standby else "messaging"
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms, field: items}]}


def changes_body(page_id: str, now_ms: int, field: str, value: dict[str, Any]) -> dict[str, Any]:
    """One entry with ``changes[]``; entry time in seconds, as Meta's samples show."""
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms // 1000,
                                         "changes": [{"field": field, "value": value}]}]}


def from_shopper(page_id: str, psid: str, timestamp: int, **event: Any) -> dict[str, Any]:
    """A ``messaging[]`` item sent by the shopper to the Page."""
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": timestamp, **event}


def echo(page_id: str, psid: str, timestamp: int, mid: str, text: str, app_id: int) -> dict[str, Any]:
    """A ``message_echoes`` item: the Page sent ``text`` to the shopper (§2.3)."""
    message = {"is_echo": True, "app_id": app_id, "mid": mid, "text": text}
    return {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": timestamp, "message": message}


def nm_optin(token: str, title: str, payload: str, timezone: str, status: str | None = None) -> dict[str, Any]:
    """The ``optin`` object of a marketing-message opt-in, stop or resume (§2.5)."""
    optin: dict[str, Any] = {
        "type": "notification_messages",
        "payload": payload,
        "title": title,
        "notification_messages_token": token,
        "notification_messages_timezone": timezone,
        "user_token_status": "NOT_REFRESHED",
    }
    if status:
        optin["notification_messages_status"] = status
    return optin


def comment_value(post_id: str, comment_id: str, psid: str, name: str, message: str,
                  created_s: int, live: bool) -> dict[str, Any]:
    """A ``feed`` change for a new top-level comment (§2.9).

    ``from.id`` is the commenter's PSID here so flows can be tested end to end;
    Meta does not promise that a comment author's id equals their PSID.
    """
    return {
        "item": "comment", "verb": "add", "comment_id": comment_id, "post_id": post_id,
        "parent_id": post_id, "from": {"id": psid, "name": name}, "message": message,
        "created_time": created_s,
        "post": {"id": post_id, "status_type": "added_video" if live else "mobile_status_update",
                 "is_published": True, "promotion_status": "inactive"},
    }
