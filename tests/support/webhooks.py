"""Build Meta-shaped webhook bodies and sign them, for tests and benchmarks."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from bot.signature import sign

_mids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def message_item(page_id: str, psid: str, text: str, *, mid: str | None = None, ts: int | None = None) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": ts or now_ms(),
            "message": {"mid": mid or f"m_{next(_mids)}_{psid}", "text": text}}


def messaging_body(page_id: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms(), "messaging": list(items)}]}


def comment_change(post_id: str, comment_id: str, from_id: str, message: str, verb: str = "add") -> dict[str, Any]:
    return {"field": "feed", "value": {"item": "comment", "verb": verb, "comment_id": comment_id, "post_id": post_id,
                                        "parent_id": post_id, "from": {"id": from_id, "name": "Ana Cruz"},
                                        "message": message, "created_time": int(time.time())}}


def signed(body: dict[str, Any] | bytes, secret: str) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"X-Hub-Signature-256": sign(secret, raw), "Content-Type": "application/json"}
