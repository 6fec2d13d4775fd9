"""The numbers hosts read: per campaign (a sale, a blast) and per day, from the outbox's counters.

The send workers count every outcome in the campaign's and the day's hash
(``sent``, ``queued``, ``skipped|<reason>``, ``failed|<reason>``), and the
delivery and read webhooks add ``delivered`` and ``read`` (``bot.tracking``).
This module only reshapes them: reasons grouped, totals added, and the day's
"never opted in" warning (shoppers skipped for want of any token, ``no_token``).
Each outcome and receipt is counted under its channel too (:mod:`bot.channel_numbers`):
``channels`` gives, per channel that has any (``messenger``, ``instagram``), its sent,
delivered, read (on Instagram: seen), skipped and failed with their reasons, and done; a
campaign's also its ``queued`` and ``pending`` (a day counts no ``queued``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from redis.asyncio import Redis

from bot.channel_numbers import by_channel
from bot.channels import CHANNELS
from bot.clock import Clock
from bot.keys import Keys
from bot.outbox import Outbox
from bot.shop_calendar import days_back

from .audience import never_opted_in

DAY_MS = 86_400_000
MAX_DAYS = 40  # the daily hashes expire after 40 days (bot.outbox)


def by_reason(raw: Mapping[str, int], outcome: str) -> dict[str, int]:
    """``{reason: n}`` of the ``<outcome>|<reason>`` fields of a numbers hash (zeros left out), sorted."""
    prefix = outcome + "|"
    return {k[len(prefix):]: v for k, v in sorted(raw.items()) if k.startswith(prefix) and v}


def added_up(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Several ``{reason: n}`` added up, sorted by reason."""
    total: dict[str, int] = {}
    for one in counts:
        for reason, n in one.items():
            total[reason] = total.get(reason, 0) + n
    return dict(sorted(total.items()))


def _outcomes(raw: Mapping[str, int]) -> dict[str, Any]:
    """Sent, delivered, read, skipped and failed with reasons and totals, and ``done`` (their sum)."""
    skipped, failed = by_reason(raw, "skipped"), by_reason(raw, "failed")
    sent = raw.get("sent", 0)
    return {"sent": sent, "delivered": raw.get("delivered", 0), "read": raw.get("read", 0),
            "skipped": skipped, "skipped_total": sum(skipped.values()),
            "failed": failed, "failed_total": sum(failed.values()),
            "done": sent + sum(skipped.values()) + sum(failed.values())}


def channel_numbers(raw: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Per channel with a number: sent, delivered, read, skipped and failed by reason, done."""
    return {channel: _outcomes(own) for channel, own in by_channel(raw).items()}


def merged_channels(days: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Several days' ``channels`` added up (counts summed, reasons merged), in ``CHANNELS`` order."""
    merged: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        of_channel = [day[channel] for day in days if channel in day]
        if of_channel:
            merged[channel] = {name: added_up(n[name] for n in of_channel) if isinstance(value, dict)
                               else sum(n[name] for n in of_channel) for name, value in of_channel[0].items()}
    return merged


def _with_queued(queued: int, outcomes: dict[str, Any]) -> dict[str, Any]:
    """``queued``, the outcomes, and ``pending``: what is queued and has no final outcome yet."""
    return {"queued": queued, **outcomes, "pending": max(0, queued - outcomes["done"])}


def campaign_numbers(raw: Mapping[str, int], eligible: int | None = None) -> dict[str, Any]:
    """A campaign's numbers: ``done`` counts jobs with a final outcome, ``pending`` the rest of ``queued``; each
    channel's the same (a job is queued under its channel by the outbox, in the step that queues it)."""
    channels = {channel: _with_queued(own.get("queued", 0), _outcomes(own))
                for channel, own in by_channel(raw).items()}
    numbers: dict[str, Any] = {**_with_queued(raw.get("queued", 0), _outcomes(raw)), "channels": channels}
    if eligible is not None:
        numbers = {"eligible": eligible, **numbers}
    return numbers


def day_numbers(day: str, raw: Mapping[str, int]) -> dict[str, Any]:
    """One day: sent, delivered, read, failed with reasons, skips, and the never-opted-in warning."""
    outcomes = _outcomes(raw)
    del outcomes["done"]
    return {"day": day, **outcomes, "never_opted_in": outcomes["skipped"].get("no_token", 0),
            "channels": channel_numbers(raw)}


async def shoppers_without_consent(redis: Redis, keys: Keys, topic: str, since_ms: int, batch: int = 1000) -> int:
    """How many shoppers whose last message or comment is ``since_ms`` or later never opted in to ``topic``.

    No marketing subscription (of any status), no OTN token, no local opt-out: a live sale
    reaches none of them (:func:`live_sales.audience.never_opted_in` lists them).
    """
    return sum([len(found) async for found in never_opted_in(redis, keys, topic, since_ms, batch)])


async def last_days(outbox: Outbox, clock: Clock, days: int, *, not_opted_in: int | None = None,
                    topic: str = "") -> dict[str, Any]:
    """The last ``days`` days of the shop (its ``SHOP_TIMEZONE``, today first) on the deployment clock, and
    their totals.

    ``not_opted_in``: shoppers active in those days who never opted in to ``topic``
    (:func:`shoppers_without_consent`), reported in the totals and as a warning.
    """
    now = await clock.now_ms()
    rows = []
    for day in days_back(now, days, outbox.zone):
        rows.append(day_numbers(day, await outbox.numbers(day=day)))
    totals: dict[str, Any] = {name: sum(r[name] for r in rows) for name in
                              ("sent", "delivered", "read", "failed_total", "skipped_total", "never_opted_in")}
    for group in ("failed", "skipped"):
        totals[group] = added_up(r[group] for r in rows)
    totals["channels"] = merged_channels([r["channels"] for r in rows])
    warnings = []
    if not_opted_in is not None:
        totals["active_not_opted_in"] = not_opted_in
        if not_opted_in:
            warnings.append(f"{not_opted_in} shoppers who messaged or commented in these {days} days never opted "
                            f"in to {topic!r}: no live-sale notification can reach them")
    if totals["never_opted_in"]:
        warnings.append(f"{totals['never_opted_in']} notifications were not sent because the shopper never "
                        "opted in (no token of any kind)")
    return {"days": rows, "totals": totals, "warnings": warnings}
