"""Meta's region rules, one table, and what we know of a shopper's region.

A shopper's region is read from what Meta gives, each kept as it came (:class:`Region`):

- the **time zone** of a marketing opt-in (``notification_messages_timezone``, an IANA name);
- the **country** of the user profile's ``locale`` (``de_DE`` -> ``DE``), looked up once per shopper
  where a rule needs it (:mod:`bot.shopper_regions`);
- a **refusal**: a send Meta refused for the shopper's region (Marketing Message API
  2300030-2300032) closes that route for them.

The rules (messenger-platform.md §0, §3.7, §4.7) — a rule closes a route when *any* signal puts the
shopper in a closed region (refusing is the safe side of a policy rule):

- **EU and UK**: no One-Time Notification requests or sends (:meth:`Region.otn_closed`);
- **the Marketing Message API**: not to subscribers in the EU, UK, Japan, South Korea, Australia
  (:meth:`Region.marketing_api_closed`);
- **the legacy Send-API marketing path**: since 10 Feb 2026 only in the AU, EU, JP, KR and UK geos
  (:meth:`Region.legacy_closed`). Meta's FAQ does not say whether the Page's or the subscriber's
  place counts [U]; we apply it to the subscriber, and only when a signal says where they are (an
  unknown region is left to Meta's answer, which then closes the route for them).

Europe/* zones outside the EU and UK (Norway, Switzerland, the Balkans outside the EU, Russia,
Turkey, Ukraine, ...) are in neither list; so are those countries' locales.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_EU_EUROPE = frozenset({"Europe/Moscow", "Europe/Istanbul", "Europe/Kiev", "Europe/Kyiv", "Europe/Minsk",
                           "Europe/Belgrade", "Europe/Chisinau", "Europe/Sarajevo", "Europe/Skopje",
                           "Europe/Podgorica", "Europe/Tirane", "Europe/Oslo", "Europe/Zurich",
                           "Europe/Kaliningrad", "Europe/Samara", "Europe/Volgograd", "Europe/Saratov",
                           "Europe/Ulyanovsk", "Europe/Astrakhan", "Europe/Kirov", "Europe/Simferopol"})
EU_UK_PREFIXES = ("Europe/", "Atlantic/Canary", "Atlantic/Madeira", "Atlantic/Azores")
EU_UK_EXACT = frozenset({"GB", "Eire", "Asia/Nicosia", "Asia/Famagusta"})
MARKETING_API_CLOSED_PREFIXES = (*EU_UK_PREFIXES, "Australia/")
MARKETING_API_CLOSED_EXACT = EU_UK_EXACT | {"Asia/Tokyo", "Asia/Seoul", "Japan", "ROK", "Antarctica/Macquarie"}

EU_COUNTRIES = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
                          "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})
EU_UK_COUNTRIES = EU_COUNTRIES | {"GB"}
MARKETING_API_CLOSED_COUNTRIES = EU_UK_COUNTRIES | {"JP", "KR", "AU"}
LEGACY_OPEN_COUNTRIES = MARKETING_API_CLOSED_COUNTRIES  # the five geos: AU, EU, JP, KR, UK


def in_eu_or_uk(timezone: str) -> bool:
    return timezone in EU_UK_EXACT or (timezone.startswith(EU_UK_PREFIXES) and timezone not in NOT_EU_EUROPE)


def marketing_api_closed(timezone: str) -> bool:
    """True when a subscriber in this time zone may not get Marketing Message API sends."""
    if timezone in MARKETING_API_CLOSED_EXACT:
        return True
    return timezone.startswith(MARKETING_API_CLOSED_PREFIXES) and timezone not in NOT_EU_EUROPE


def country_of_locale(locale: str) -> str:
    """The country of a Facebook locale (``en_GB`` -> ``GB``, ``fil_PH`` -> ``PH``); '' if it names none."""
    _, _, country = locale.replace("-", "_").partition("_")
    return country.upper() if len(country) == 2 and country.isalpha() else ""


@dataclass(frozen=True, slots=True)
class Region:
    """What Meta told us of where a shopper is; empty fields are unknown."""

    timezone: str = ""  # IANA, from a marketing opt-in
    country: str = ""  # ISO 3166 alpha-2, from the profile's locale
    refused: frozenset[str] = frozenset()  # routes Meta refused for the shopper's region
    looked_up: bool = False  # the profile was asked (so an unknown country is not asked again)

    @property
    def known(self) -> bool:
        return bool(self.timezone or self.country)

    def otn_closed(self) -> bool:
        return "otn" in self.refused or in_eu_or_uk(self.timezone) or self.country in EU_UK_COUNTRIES

    def marketing_api_closed(self) -> bool:
        return ("marketing_api" in self.refused or marketing_api_closed(self.timezone)
                or self.country in MARKETING_API_CLOSED_COUNTRIES)

    def legacy_closed(self) -> bool:
        if "marketing_legacy" in self.refused:
            return True
        if not self.known:
            return False
        return not (marketing_api_closed(self.timezone) or self.country in LEGACY_OPEN_COUNTRIES)

    def with_timezone(self, timezone: str) -> Region:
        """This region with a subscription's time zone filled in where none is known."""
        if not timezone or self.timezone:
            return self
        return Region(timezone, self.country, self.refused, self.looked_up)

    def pack(self) -> str:
        return "|".join((self.timezone, self.country, ",".join(sorted(self.refused)), "1" if self.looked_up else ""))

    @classmethod
    def unpack(cls, packed: str) -> Region:
        if not packed:
            return cls()
        timezone, country, refused, looked_up = (packed.split("|") + ["", "", "", ""])[:4]
        return cls(timezone, country, frozenset(r for r in refused.split(",") if r), looked_up == "1")
