"""The shop's calendar: its time zone (``SHOP_TIMEZONE``), which day a moment falls on, and times written
without an offset.

Everything "per day" is counted in the shop's days: a shopper's daily send limit (:mod:`bot.buckets`),
the outbox's daily numbers and the stats (:mod:`bot.outbox`), one keyword reply per post per day. A
host who types "20:00" means 20:00 where the shop is, so a schedule time without an offset is read
in that zone. The default is UTC, the old behaviour.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from datetime import timezone as _timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

UTC: tzinfo = _timezone.utc


@lru_cache(maxsize=64)
def shop_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Asia/Manila``, ``UTC``); ConfigError naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SHOP_TIMEZONE must be an IANA time zone such as Asia/Manila or UTC, got {name!r}") from None


def day_of(now_ms: int, zone: tzinfo = UTC) -> str:
    """The shop's day of ``now_ms`` as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(now_ms / 1000, tz=zone).strftime("%Y-%m-%d")


def days_back(now_ms: int, count: int, zone: tzinfo = UTC) -> list[str]:
    """The last ``count`` days of the shop, today first (calendar days: a 23- or 25-hour day is one day)."""
    today = date.fromisoformat(day_of(now_ms, zone))
    return [(today - timedelta(days=back)).isoformat() for back in range(count)]


def parse_shop_time(text: str, zone: tzinfo = UTC) -> int:
    """ISO 8601 to epoch ms: ``Z`` or an offset as written, no offset in the shop's zone; ValueError if not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)
