"""The channels a Page talks on: Messenger, and its linked Instagram professional account (issue 15).

A shopper is known by a key: on Messenger their Page-scoped id (PSID) as Meta sends it, on Instagram
their Instagram-scoped id (IGSID) behind the prefix ``ig:`` (:func:`instagram_shopper`). Everything
keyed by a shopper (queues, the 24-hour window, consent, opt-in history, send limits) takes that key,
so an IGSID can never meet a PSID of the same digits, and a person on both channels is two shoppers
unless the shop links them (messenger-platform.md §9). The prefix is put on by the parser
(:mod:`bot.parsing`) and taken off only where Meta is called (:func:`meta_id`), so no other code needs
to know which channel a shopper is on; what needs to (the send policy, the Graph call) asks
:func:`channel_of`.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["messenger", "instagram"]
CHANNELS: tuple[Channel, ...] = ("messenger", "instagram")
MESSENGER: Channel = "messenger"
INSTAGRAM: Channel = "instagram"
INSTAGRAM_PREFIX = "ig:"

# ``object`` of a webhook body per channel (messenger-platform.md §1.3: Instagram events use "instagram").
WEBHOOK_OBJECTS: dict[str, Channel] = {"page": MESSENGER, "instagram": INSTAGRAM}


def instagram_shopper(igsid: str) -> str:
    """The shopper key of an Instagram-scoped id."""
    return INSTAGRAM_PREFIX + igsid


def shopper_key(channel: str, meta_id: str) -> str:
    """The shopper key of the id Meta sent on ``channel``."""
    return instagram_shopper(meta_id) if channel == INSTAGRAM else meta_id


def channel_of(shopper: str | None) -> Channel:
    """``instagram`` for an Instagram shopper's key, else ``messenger``."""
    return INSTAGRAM if shopper and shopper.startswith(INSTAGRAM_PREFIX) else MESSENGER


def meta_id(shopper: str) -> str:
    """The id Meta knows the shopper by (``recipient.id``): the key without its channel prefix."""
    return shopper.removeprefix(INSTAGRAM_PREFIX)
