"""Meta's region rules, one table: which time zones put a shopper where a feature is closed.

A shopper's region is read from the time zone Meta gives (the opt-in's ``timezone``; the user
profile's offset is coarser). Two rules use it (messenger-platform.md §3.7, §4.7):

- **EU and UK**: no One-Time Notification requests or sends (:func:`in_eu_or_uk`);
- **the Marketing Message API's excluded subscribers**: EU, UK, Japan, South Korea, Australia
  (:func:`marketing_api_closed`).

Europe/* zones outside the EU and UK (Norway, Switzerland, the Balkans outside the EU, Russia,
Turkey, Ukraine, ...) are in neither list.
"""

from __future__ import annotations

NOT_EU_EUROPE = frozenset({"Europe/Moscow", "Europe/Istanbul", "Europe/Kiev", "Europe/Kyiv", "Europe/Minsk",
                           "Europe/Belgrade", "Europe/Chisinau", "Europe/Sarajevo", "Europe/Skopje",
                           "Europe/Podgorica", "Europe/Tirane", "Europe/Oslo", "Europe/Zurich",
                           "Europe/Kaliningrad", "Europe/Samara", "Europe/Volgograd", "Europe/Saratov",
                           "Europe/Ulyanovsk", "Europe/Astrakhan", "Europe/Kirov", "Europe/Simferopol"})
EU_UK_PREFIXES = ("Europe/", "Atlantic/Canary", "Atlantic/Madeira", "Atlantic/Azores")
EU_UK_EXACT = frozenset({"GB", "Eire", "Asia/Nicosia", "Asia/Famagusta"})
MARKETING_API_CLOSED_PREFIXES = (*EU_UK_PREFIXES, "Australia/")
MARKETING_API_CLOSED_EXACT = EU_UK_EXACT | {"Asia/Tokyo", "Asia/Seoul", "Japan", "ROK", "Antarctica/Macquarie"}


def in_eu_or_uk(timezone: str) -> bool:
    return timezone in EU_UK_EXACT or (timezone.startswith(EU_UK_PREFIXES) and timezone not in NOT_EU_EUROPE)


def marketing_api_closed(timezone: str) -> bool:
    """True when a subscriber in this time zone may not get Marketing Message API sends."""
    if timezone in MARKETING_API_CLOSED_EXACT:
        return True
    return timezone.startswith(MARKETING_API_CLOSED_PREFIXES) and timezone not in NOT_EU_EUROPE
