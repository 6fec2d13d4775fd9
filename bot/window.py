"""The 24-hour messaging window (messenger-platform.md §4.1): which events open it.

A shopper's message, postback or referral opens (refreshes) the window; opt-ins, comments,
deliveries and reads do not. The window is raised by the inbox splitter, in the same atomic step
that queues the event (``bot/queues.lua``: ``enqueue_from``): it is open before any reply to the
event can be sent, a shopper's "unreachable" mark goes with it, and no event costs a round trip of
its own for it. The window is ``Keys.window``: PSID (``ig:<IGSID>`` on Instagram) -> the epoch ms of
the last such action, only ever raised.
"""

from __future__ import annotations

from .events import Event, MessagingEvent

OPENING_KINDS = frozenset({"message", "postback", "referral"})


def window_opened(event: Event) -> tuple[str, int] | None:
    """(the shopper, when) if ``event`` opens their window, else None."""
    if event.kind in OPENING_KINDS and isinstance(event, MessagingEvent) and event.psid:
        return event.psid, event.timestamp
    return None
