"""Settings: the whole configuration as one frozen dataclass, checked when it is built.

Built once at start-up from the environment (:meth:`Settings.from_env`, read by
:mod:`bot.settings_env`, which names every variable), then passed down; :meth:`Settings.for_page`
is one served Page's view of it. Its defaults are sandbox mode's: without
``FB_PAGE_ACCESS_TOKEN`` the bot talks to its own Messenger stand-in under ``/sandbox/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from .errors import ConfigError
from .page_settings import (
    PAGE_SETTINGS,
    SANDBOX_AD_ACCOUNT,
    SANDBOX_MESSAGE_CAMPAIGN,
    SANDBOX_PAGE_ID,
    SANDBOX_PAGE_TOKEN,
    PageConfig,
)
from .secret import Secret
from .shop_calendar import shop_zone

SANDBOX_APP_ID = "200000000000002"
SANDBOX_APP_SECRET = "sandbox-app-secret"
SANDBOX_VERIFY_TOKEN = "sandbox-verify-token"
DEFAULT_GRAPH_VERSION = "v25.0"

DEFAULT_HTTP_IDLE_TIMEOUT = 15.0

MarketingPath = Literal["legacy", "marketing_api"]


DEFAULT_FALLBACK_TEXT = "Thanks for your message! 🙏 Someone from our team will reply here soon."
DEFAULT_HANDOVER_TEXT = "Sure! A person from our team will answer you here soon. 🙏"

FOLLOWUP_OTN = re.compile(r"otn:[A-Za-z0-9_.:-]{1,64}")  # the follow-up asks for a one-time notification


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Build it with :meth:`from_env`."""

    port: int = 8080
    host: str = "127.0.0.1"
    http_idle_timeout: float = DEFAULT_HTTP_IDLE_TIMEOUT
    redis_url: str | None = None  # None: the embedded Redis under data_dir
    redis_cluster: bool = False  # REDIS_CLUSTER: REDIS_URL names a node of a Redis Cluster
    data_dir: Path = Path(".salebell")
    sandbox: bool = True
    app_id: str = SANDBOX_APP_ID
    app_secret: Secret = field(default_factory=lambda: Secret(SANDBOX_APP_SECRET))
    verify_token: Secret = field(default_factory=lambda: Secret(SANDBOX_VERIFY_TOKEN))
    page_id: str = SANDBOX_PAGE_ID
    page_access_token: Secret = field(default_factory=lambda: Secret(SANDBOX_PAGE_TOKEN))
    graph_api_url: str = ""
    graph_api_version: str = DEFAULT_GRAPH_VERSION
    admin_token: Secret = field(default_factory=lambda: Secret(""))
    admin_token_generated: bool = False
    optin_keywords: tuple[str, ...] = ("LIVE",)
    optin_title: str = "Get daily reminders"
    optin_topic: str = "daily_reminders"
    marketing_path: MarketingPath = "marketing_api"
    ad_account_id: str = SANDBOX_AD_ACCOUNT
    message_campaign_id: str = SANDBOX_MESSAGE_CAMPAIGN
    shop_timezone: str = "UTC"  # SHOP_TIMEZONE (per Page: SHOP_TIMEZONE_<id>): an IANA zone, e.g. Asia/Manila
    # FB_INSTAGRAM_ACCOUNT_ID (per Page: FB_INSTAGRAM_ACCOUNT_ID_<id>): the linked Instagram account; "" = none
    instagram_account_id: str = ""  # from_env in sandbox mode: every Page gets one (page_settings.sandbox_pages)
    otn_enabled: bool = True
    message_tags_enabled: bool = True
    utility_messages_enabled: bool = False  # UTILITY_MESSAGES_ENABLED: the Page has page_utility_messaging (§3.3, §9)
    human_agent_tag: bool = False  # HUMAN_AGENT_TAG: Meta's Human Agent feature was granted (App Review)
    sends_per_shopper_per_day: int = 1
    page_send_rate: float = 250.0
    page_daily_budget: int = 0
    human_pause_minutes: int = 30
    followup_hours: int = 12
    followup_offer: str = "reminders"  # FOLLOWUP_OFFER: "reminders" (the card) or "otn:<topic>"
    followup_otn_title: str = "Tell me about the next live sale"  # FOLLOWUP_OTN_TITLE
    worker_concurrency: int = 64
    send_concurrency: int = 64
    lease_seconds: float = 30.0
    reclaim_idle_seconds: float = 30.0
    send_retry_seconds: float = 600.0  # a send that failed where nothing left is retried this long
    echo_wait_seconds: float = 30.0  # how long a reclaimed uncertain send waits for its echo (bot/reclaim.py)
    send_throttle_base_seconds: float = 30.0  # the Page's first pause after a throttle without an estimate
    send_throttle_attempts: int = 10  # throttled calls of one job (probes included) before it is recorded failed
    send_usage_pause_seconds: float = 5.0  # the Page's pause when a usage header says 95 % or more
    run_workers_in_web: bool = True
    webhook_url: str = ""
    plugins: tuple[str, ...] = ()
    # -- the dialogue plugin (dialogue/) --
    intents_packages: tuple[str, ...] = ("intents",)
    action_server_url: str = ""
    remote_actions: tuple[str, ...] = ()  # REMOTE_ACTIONS: run on the action server (unset: the shop's own)
    comment_optin_scope: str = "all"
    optin_image_url: str = ""
    greeting_text: str = ""
    shop_url: str = ""
    nlu_weights: str = ""  # NLU_WEIGHTS: "" the shipped model, "none" rules alone, or a weights file
    fallback_text: str = DEFAULT_FALLBACK_TEXT
    fallback_quiet_hours: float = 4.0
    handover_on_fallback: bool = False  # HANDOVER_ON_FALLBACK: the fallback also passes the thread to the Page Inbox
    handover_text: str = DEFAULT_HANDOVER_TEXT  # HANDOVER_TEXT: what a shopper who asked for a person is told
    admin_api_url: str = ""  # where the CLI finds the admin API (SALEBELL_API_URL)
    # -- claims by comment (live_sales/claims.py) --
    # CLAIM_WORDS (per Page: CLAIM_WORDS_<id>): empty means live_sales.claim_words.DEFAULT_CLAIM_WORDS
    claim_words: tuple[str, ...] = ()
    checkout_url_template: str = ""  # CHECKOUT_URL_TEMPLATE, with {claim_id}, {code}, {variant}, {sale_id}
    claim_settle_ms: int = 300  # CLAIM_SETTLE_MS: how long a claim waits for earlier comments before its answer
    claim_hold_minutes: float = 15.0  # CLAIM_HOLD_MINUTES: an unpaid claim is released after this (0: never)
    # Every Page served (FB_PAGES); empty: the one Page of the fields above. ``page_id`` and the
    # other page fields are the first Page's; per-Page code gets :meth:`for_page`'s settings.
    pages: tuple[PageConfig, ...] = ()

    def __post_init__(self) -> None:
        if not self.pages:
            object.__setattr__(self, "pages", (PageConfig(self.page_id, self.page_access_token, self.ad_account_id,
                                                          self.message_campaign_id,
                                                          shop_timezone=self.shop_timezone,
                                                          instagram_account_id=self.instagram_account_id,
                                                          claim_words=self.claim_words),))
        ids = [p.page_id for p in self.pages]
        for page_id in ids:
            if not page_id or any(c in page_id for c in ", \t;|/"):
                raise ConfigError(f"a Page id must be one id, got {page_id!r}; set FB_PAGE_ID for one Page, "
                                  "FB_PAGES=<id>,<id> for several")
        for page in self.pages:
            shop_zone(page.shop_timezone)  # a ConfigError naming the zone
        if len(set(ids)) != len(ids):
            raise ConfigError(f"FB_PAGES names a Page twice: {','.join(ids)}")
        linked = [p.instagram_account_id for p in self.pages if p.instagram_account_id]
        if len(set(linked)) != len(linked) or set(linked) & set(ids):
            raise ConfigError("each FB_INSTAGRAM_ACCOUNT_ID_<page id> must name another Instagram account, "
                              "not a Page id nor another Page's account")
        if self.page_id != ids[0]:
            raise ConfigError(f"page_id {self.page_id} is not the first of the Pages ({ids[0]})")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be 1-65535, got {self.port}")
        if not self.http_idle_timeout > 0:
            raise ConfigError(f"HTTP_IDLE_TIMEOUT must be a positive number of seconds, got {self.http_idle_timeout}")
        if not 0 <= self.claim_settle_ms <= 60_000:
            raise ConfigError(f"CLAIM_SETTLE_MS must be 0-60000 (milliseconds), got {self.claim_settle_ms}")
        if not 0 <= self.claim_hold_minutes <= 7 * 24 * 60:
            raise ConfigError(f"CLAIM_HOLD_MINUTES must be 0 (never) to 10080 (a week), got {self.claim_hold_minutes}")
        template = self.checkout_url_template
        if template and (not template.startswith(("https://", "http://")) or "{claim_id}" not in template):
            raise ConfigError("CHECKOUT_URL_TEMPLATE must be an http(s) URL containing {claim_id}, "
                              f"e.g. https://shop.example/checkout/{{claim_id}}; got {template!r}")
        if self.marketing_path not in ("legacy", "marketing_api"):
            raise ConfigError(f"MARKETING_PATH must be legacy or marketing_api, got {self.marketing_path!r}")
        if not self.optin_keywords:
            raise ConfigError("OPTIN_KEYWORDS must name at least one keyword")
        if self.sends_per_shopper_per_day < 1:
            raise ConfigError("SENDS_PER_SHOPPER_PER_DAY must be at least 1")
        if self.page_send_rate < 0:
            raise ConfigError("PAGE_SEND_RATE must be 0 (uncapped) or positive")
        if self.lease_seconds <= 0 or self.reclaim_idle_seconds <= 0:
            raise ConfigError("LEASE_SECONDS and RECLAIM_IDLE_SECONDS must be positive")
        if self.echo_wait_seconds < 0:
            raise ConfigError("ECHO_WAIT_SECONDS must be 0 or more")
        if self.send_retry_seconds < 0 or self.send_throttle_base_seconds <= 0 or self.send_usage_pause_seconds < 0:
            raise ConfigError("SEND_RETRY_SECONDS and SEND_USAGE_PAUSE_SECONDS must be >= 0, "
                              "SEND_THROTTLE_BASE_SECONDS positive")
        if self.send_throttle_attempts < 1:
            raise ConfigError("SEND_THROTTLE_ATTEMPTS must be at least 1")
        if self.followup_offer != "reminders" and not FOLLOWUP_OTN.fullmatch(self.followup_offer):
            raise ConfigError(f"FOLLOWUP_OFFER must be reminders or otn:<topic>, got {self.followup_offer!r}")
        if not 0 < len(self.followup_otn_title) <= 65:
            raise ConfigError("FOLLOWUP_OTN_TITLE must be 1-65 characters (Messenger's limit for a request title)")
        if self.fallback_quiet_hours < 0:
            raise ConfigError("FALLBACK_QUIET_HOURS must be 0 or more")
        if len(self.fallback_text) > 2000:
            raise ConfigError("FALLBACK_TEXT must be at most 2000 characters (Messenger's limit)")
        if self.redis_cluster and not self.redis_url:
            raise ConfigError("REDIS_CLUSTER=true needs REDIS_URL naming a node of the cluster "
                              "(the embedded Redis is a single server)")
        if self.comment_optin_scope not in ("all", "linked"):
            raise ConfigError(f"COMMENT_OPTIN_SCOPE must be all or linked, got {self.comment_optin_scope!r}")

    @property
    def graph_base(self) -> str:
        """Graph API root including the version, e.g. ``https://graph.facebook.com/v25.0``."""
        return f"{self.graph_api_url.rstrip('/')}/{self.graph_api_version}"

    @property
    def shop_zone(self) -> ZoneInfo:
        """The shop's time zone (``SHOP_TIMEZONE``): its days and its times written without an offset."""
        return shop_zone(self.shop_timezone)

    @property
    def page_ids(self) -> tuple[str, ...]:
        return tuple(p.page_id for p in self.pages)

    def for_page(self, page_id: str) -> Settings:
        """The settings of one served Page: its id, token, ad account and campaign in the page fields,
        and it alone in ``pages``. KeyError for a Page this deployment does not serve."""
        page = next((p for p in self.pages if p.page_id == page_id), None)
        if page is None:
            raise KeyError(page_id)
        if len(self.pages) == 1:
            return self
        return self.replace(page_id=page.page_id, page_access_token=page.access_token,
                            ad_account_id=page.ad_account_id, message_campaign_id=page.message_campaign_id,
                            graph_api_url=page.graph_api_url or self.graph_api_url,
                            shop_timezone=page.shop_timezone, instagram_account_id=page.instagram_account_id,
                            claim_words=page.claim_words, pages=(page,))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the environment (:func:`bot.settings_env.settings_from_env`); outside sandbox mode a missing
        required variable stops start-up."""
        from .settings_env import settings_from_env  # it builds a Settings: imported when called, not at the top

        return settings_from_env(env)

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes``; changing a page field of a one-Page settings changes its Page."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if len(self.pages) == 1 and "pages" not in changes and any(name in changes for name in PAGE_SETTINGS):
            values["pages"] = ()  # rebuilt from the page fields
        values.update(changes)
        return Settings(**values)
