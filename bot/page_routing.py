"""Which Page's inbox each entry of a webhook body goes to (one deployment, several Pages: :mod:`bot.pages`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def route_entries(raw: bytes, entries: list[Any], served: Sequence[str],
                  instagram_accounts: Mapping[str, str] | None = None, webhook_object: str = "page"
                  ) -> dict[str, bytes]:
    """The body each served Page's inbox gets: ``raw`` itself when every entry is one Page's (the usual
    case), else one body per Page with its own entries (of the same ``object``).

    An ``object: instagram`` entry's id is an Instagram account's: it goes to the Page
    ``instagram_accounts`` links it to. An entry for no served Page (or account), or with no
    readable id, goes to the first Page's inbox, where the splitter rejects it with its reason
    (``foreign_page``, ``unknown_instagram_account``, ``malformed_entry``), counted and logged.
    """
    default = served[0]
    if webhook_object == "instagram":
        linked = instagram_accounts or {}
        targets = [linked.get(_id_of(entry) or "", default) for entry in entries]
    else:
        targets = [_page_of(entry, served, default) for entry in entries]
    if len(set(targets)) <= 1:
        return {targets[0] if targets else default: raw}
    grouped: dict[str, list[Any]] = {}
    for page_id, entry in zip(targets, entries, strict=True):
        grouped.setdefault(page_id, []).append(entry)
    return {page_id: json.dumps({"object": webhook_object, "entry": group}, separators=(",", ":")).encode()
            for page_id, group in grouped.items()}


def _page_of(entry: Any, served: Sequence[str], default: str) -> str:
    page_id = _id_of(entry)
    return page_id if page_id is not None and page_id in served else default


def _id_of(entry: Any) -> str | None:
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(entry_id, int) and not isinstance(entry_id, bool):
        entry_id = str(entry_id)
    return entry_id if isinstance(entry_id, str) else None
