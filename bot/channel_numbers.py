"""Campaign and day numbers split by channel (issue 15: "numbers per channel").

Beside each total it bumps (``queued``, ``sent``, ``skipped|<reason>``, ``failed|<reason>``, ``delivered``,
``read``), the outbox (``outbox_enqueue.lua`` a campaign's ``queued``, ``outbox_finish.lua`` the outcomes)
and the receipt handler (:mod:`bot.tracking`) bump the same field
behind its channel's prefix, ``ch|<channel>|`` (``ch|instagram|sent``), in the same hash and the same
script call, so a channel's numbers can never drift from the totals. The totals' readers match exact
names or the ``skipped|``/``failed|`` prefixes and so never see these fields; :func:`by_channel`
takes them apart.

On Instagram there are no delivery receipts, only ``messaging_seen`` (messenger-platform.md §9 [C]):
its ``read`` is the shopper's seen, and its ``delivered`` counts only what was seen (a read implies
delivered, as on Messenger).
"""

from __future__ import annotations

from collections.abc import Mapping

from .channels import CHANNELS

PREFIX = "ch|"


def channel_prefix(channel: str) -> str:
    """The prefix of ``channel``'s fields in a numbers hash."""
    return f"{PREFIX}{channel}|"


def by_channel(raw: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """``{channel: its fields without the prefix}`` for every channel with a number (in ``CHANNELS`` order)."""
    found: dict[str, dict[str, int]] = {}
    for name, value in raw.items():
        if not name.startswith(PREFIX):
            continue
        channel, _, field = name[len(PREFIX):].partition("|")
        if channel in CHANNELS and field:
            found.setdefault(channel, {})[field] = value
    return {c: found[c] for c in CHANNELS if c in found}
