"""A sale's claim numbers, as the host reads them beside the fan-out's (``GET /api/live-sales/{id}``).

Two sources, neither of them a scan of the claims:

- what the claim steps did, counted by each Lua step in the same atomic step
  (:mod:`live_sales.claim_scripts`): ``comments`` recorded as claims, ``claimed`` (at once),
  ``waitlisted``, ``promoted`` (from the waitlist to a freed unit), ``released`` by reason
  (``comment_deleted``, ``hold_expired``, ``unreachable``), ``paid``, ``cancelled`` by the host,
  ``duplicates`` (a comment that had claimed already: Meta's retry, an edit) and ``asked_variant``
  (a claim that named no variant was asked which, and claimed nothing);
- what became of the answers: the ``claims-<sale>`` campaign's send numbers
  (:func:`live_sales.numbers.campaign_numbers`), so every claim comment not answered has its
  reason: skipped before any call (``already_replied``, ``too_old``, …) or failed at Meta; and the
  same per channel the answers went on (``answers.channels.messenger`` / ``.instagram``: a claim is
  answered on its comment's channel).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .numbers import added_up, by_reason, campaign_numbers

STEPS = ("comments", "claimed", "waitlisted", "promoted", "paid", "cancelled", "duplicates", "asked_variant")


def answers_campaign(sale_id: str) -> str:
    """The campaign every claim answer of a sale is counted in (its private replies and promotions)."""
    return f"claims-{sale_id}".replace("|", "/")


def claim_numbers(counted: Mapping[str, int], answers: Mapping[str, int]) -> dict[str, Any]:
    """The sale's claim numbers from the steps' counts and the answers campaign's raw counters."""
    released = by_reason(counted, "released")
    sent = campaign_numbers(answers)
    unanswered = added_up((sent["skipped"], sent["failed"]))
    return {
        **{step: counted.get(step, 0) for step in STEPS},
        "released": released, "released_total": sum(released.values()),
        "answers": {**{name: sent[name] for name in ("queued", "sent", "delivered", "read", "pending")},
                    "channels": sent["channels"]},
        "unanswered": unanswered, "unanswered_total": sum(unanswered.values()),
    }
