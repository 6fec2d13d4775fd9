"""The Pages a deployment serves, from the environment: ``FB_PAGE_ID`` (one) or ``FB_PAGES`` (several,
each with ``FB_PAGE_ACCESS_TOKEN_<id>`` and, where they differ, ``FB_AD_ACCOUNT_ID_<id>`` and
``FB_MESSAGE_CAMPAIGN_ID_<id>``, ``SHOP_TIMEZONE_<id>``, ``FB_INSTAGRAM_ACCOUNT_ID_<id>``, ``CLAIM_WORDS_<id>``).
:class:`~bot.settings.Settings` keeps them in ``pages``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .env_reader import EnvReader
from .errors import ConfigError
from .secret import Secret

SANDBOX_PAGE_ID = "100000000000001"
SANDBOX_PAGE_TOKEN = "sandbox-page-token"
SANDBOX_AD_ACCOUNT = "300000000000003"
SANDBOX_MESSAGE_CAMPAIGN = "400000000000004"


def sandbox_instagram_account(page_id: str) -> str:
    """The Instagram professional account the sandbox links to a Page: ``1784`` and 11 digits of a hash of
    the Page id, the same on every start, another for each Page."""
    digest = int.from_bytes(hashlib.blake2b(page_id.encode(), digest_size=8).digest(), "big")
    return "1784" + str(digest % 10**11).zfill(11)


SANDBOX_INSTAGRAM_ACCOUNT = sandbox_instagram_account(SANDBOX_PAGE_ID)


@dataclass(frozen=True)
class PageConfig:
    """One Page the deployment serves: its id and what talks to Meta on its behalf.

    ``graph_api_url`` is empty unless the Page has a Graph API of its own (a sandbox Page
    after the first, served under ``/sandbox/pages/<id>/``).
    """

    page_id: str
    access_token: Secret
    ad_account_id: str = ""
    message_campaign_id: str = ""
    graph_api_url: str = ""
    shop_timezone: str = "UTC"  # the shop's days (limits, numbers) and its times without an offset
    # FB_INSTAGRAM_ACCOUNT_ID(_<id>): the Page's linked Instagram professional account; "" = no Instagram channel
    instagram_account_id: str = ""
    # CLAIM_WORDS(_<id>): the words that make a comment a claim on this Page; () = the default words
    claim_words: tuple[str, ...] = ()


PAGE_SETTINGS = ("page_id", "page_access_token", "ad_account_id", "message_campaign_id", "shop_timezone",
                 "instagram_account_id", "claim_words")


def page_ids(reader: EnvReader) -> list[str]:
    """``FB_PAGES`` (several Pages) or ``FB_PAGE_ID`` (one); empty when neither is set."""
    several, one = reader.text("FB_PAGES"), reader.text("FB_PAGE_ID")
    if several and one:
        raise ConfigError("set FB_PAGE_ID for one Page or FB_PAGES for several, not both")
    if several:
        ids = [p.strip() for p in several.split(",")]
        if not all(ids):
            raise ConfigError(f"FB_PAGES must be Page ids separated by commas, got {several!r}")
        return ids
    if one and any(c in one for c in ", \t;|"):
        raise ConfigError(f"FB_PAGE_ID must name one Page, got {one!r}; for several set FB_PAGES=<id>,<id> "
                          "(and FB_PAGE_ACCESS_TOKEN_<id> for each)")
    return [one] if one else []


def sandbox_pages(reader: EnvReader, page_ids: list[str], port: int) -> tuple[PageConfig, ...]:
    """Sandbox Pages: the first at ``/sandbox/``, each other at ``/sandbox/pages/<id>/`` with a token of its own."""
    pages = []
    for n, page_id in enumerate(page_ids):
        token = SANDBOX_PAGE_TOKEN if n == 0 else f"{SANDBOX_PAGE_TOKEN}-{page_id}"
        own_graph = n > 0 and not reader.text("GRAPH_API_URL")
        graph = f"http://127.0.0.1:{port}/sandbox/pages/{page_id}/graph" if own_graph else ""
        pages.append(PageConfig(page_id, Secret(token),
                                reader.per_page("FB_AD_ACCOUNT_ID", page_id) or SANDBOX_AD_ACCOUNT,
                                reader.per_page("FB_MESSAGE_CAMPAIGN_ID", page_id) or SANDBOX_MESSAGE_CAMPAIGN, graph,
                                _timezone(reader, page_id),
                                _instagram(reader, page_id, len(page_ids)) or sandbox_instagram_account(page_id),
                                claim_words(reader, page_id)))
    return tuple(pages)


def production_pages(reader: EnvReader, page_ids: list[str]) -> tuple[PageConfig, ...]:
    """Production Pages: ``FB_PAGE_ID`` with ``FB_PAGE_ACCESS_TOKEN``, or every id of ``FB_PAGES`` with its own
    ``FB_PAGE_ACCESS_TOKEN_<id>`` (a Page token speaks for one Page only)."""
    if not page_ids:
        reader.required("FB_PAGE_ID")
    several = bool(reader.text("FB_PAGES"))
    pages = []
    for page_id in page_ids:
        token = reader.required(f"FB_PAGE_ACCESS_TOKEN_{page_id}" if several else "FB_PAGE_ACCESS_TOKEN")
        pages.append(PageConfig(page_id, Secret(token), reader.per_page("FB_AD_ACCOUNT_ID", page_id),
                                reader.per_page("FB_MESSAGE_CAMPAIGN_ID", page_id), "", _timezone(reader, page_id),
                                _instagram(reader, page_id, len(page_ids)), claim_words(reader, page_id)))
    return tuple(pages)


def _timezone(reader: EnvReader, page_id: str) -> str:
    """``SHOP_TIMEZONE_<id>``, else ``SHOP_TIMEZONE``, else UTC (checked by :class:`~bot.settings.Settings`)."""
    return reader.per_page("SHOP_TIMEZONE", page_id) or "UTC"


def claim_words(reader: EnvReader, page_id: str) -> tuple[str, ...]:
    """``CLAIM_WORDS_<id>``, else ``CLAIM_WORDS``: comma separated; none means the default words
    (``live_sales.claim_words.DEFAULT_CLAIM_WORDS``)."""
    return tuple(w.strip() for w in reader.per_page("CLAIM_WORDS", page_id).split(",") if w.strip())


def _instagram(reader: EnvReader, page_id: str, served: int) -> str:
    """``FB_INSTAGRAM_ACCOUNT_ID_<id>``, else (one Page only: an Instagram account is linked to one Page)
    ``FB_INSTAGRAM_ACCOUNT_ID``; digits only (checked here, a ConfigError naming the variable)."""
    name = f"FB_INSTAGRAM_ACCOUNT_ID_{page_id}"
    value = reader.text(name)
    if not value and served == 1:
        name, value = "FB_INSTAGRAM_ACCOUNT_ID", reader.text("FB_INSTAGRAM_ACCOUNT_ID")
    if value and not value.isdigit():
        raise ConfigError(f"{name} must be the Instagram professional account's numeric id, got {value!r}")
    return value


def first_page_fields(required: dict[str, object]) -> dict[str, object]:
    """The page fields of the first Page beside ``pages`` (the settings of a one-Page deployment)."""
    pages = required["pages"]
    assert isinstance(pages, tuple)
    first = pages[0]
    return {**required, "page_id": first.page_id, "page_access_token": first.access_token,
            "ad_account_id": first.ad_account_id, "message_campaign_id": first.message_campaign_id,
            "shop_timezone": first.shop_timezone, "instagram_account_id": first.instagram_account_id,
            "claim_words": first.claim_words}
