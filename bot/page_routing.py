"""Which Page's inbox each entry of a webhook body goes to (one deployment, several Pages: :mod:`bot.pages`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def route_entries(raw: bytes, entries: list[Any], served: Sequence[str]) -> dict[str, bytes]:
    """The body each served Page's inbox gets: ``raw`` itself when every entry is one Page's (the usual
    case), else one body per Page with its own entries.

    An entry for no served Page, or with no readable id, goes to the first Page's inbox, where the
    splitter rejects it with its reason (``foreign_page``, ``malformed_entry``), counted and logged.
    """
    default = served[0]
    targets = [_page_of(entry, served, default) for entry in entries]
    if len(set(targets)) <= 1:
        return {targets[0] if targets else default: raw}
    grouped: dict[str, list[Any]] = {}
    for page_id, entry in zip(targets, entries, strict=True):
        grouped.setdefault(page_id, []).append(entry)
    return {page_id: json.dumps({"object": "page", "entry": group}, separators=(",", ":")).encode()
            for page_id, group in grouped.items()}


def _page_of(entry: Any, served: Sequence[str], default: str) -> str:
    page_id = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(page_id, int) and not isinstance(page_id, bool):
        page_id = str(page_id)
    return page_id if isinstance(page_id, str) and page_id in served else default
