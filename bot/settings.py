"""Settings, read once from the environment (12-factor).

Every environment variable the project reads is named in this module. Without
``FB_PAGE_ACCESS_TOKEN`` the bot runs in sandbox mode: it talks to its own
Messenger stand-in under ``/sandbox/`` and needs no Facebook app.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from .env_reader import EnvReader
from .errors import ConfigError
from .page_settings import (
    PAGE_SETTINGS,
    SANDBOX_AD_ACCOUNT,
    SANDBOX_MESSAGE_CAMPAIGN,
    SANDBOX_PAGE_ID,
    SANDBOX_PAGE_TOKEN,
    PageConfig,
    first_page_fields,
    page_ids,
    production_pages,
    sandbox_pages,
)
from .plugins import installed_plugin_names
from .secret import Secret
from .shop_calendar import shop_zone

SANDBOX_APP_ID = "200000000000002"
SANDBOX_APP_SECRET = "sandbox-app-secret"
SANDBOX_VERIFY_TOKEN = "sandbox-verify-token"
META_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"

DEFAULT_HTTP_IDLE_TIMEOUT = 15.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")
EMBEDDED_REDIS = "embedded"  # REDIS_URL=embedded: the embedded Redis on purpose (the default in sandbox mode only)

def plugin_names(raw: str | None) -> tuple[str, ...]:
    """``SALEBELL_PLUGINS`` as plugin names: unset or empty means every installed plugin (the
    ``salebell.plugins`` entry points, :mod:`bot.plugins`), ``none`` means none."""
    raw = (raw or "").strip()
    if not raw:
        return installed_plugin_names()
    if raw.lower() == "none":
        return ()
    return tuple(p.strip() for p in raw.split(",") if p.strip())


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
        """Read the environment; outside sandbox mode a missing required variable stops start-up."""
        env = os.environ if env is None else env
        reader = EnvReader(env)
        served = page_ids(reader)
        page_token = reader.text("FB_PAGE_ACCESS_TOKEN")
        sandbox = not page_token and not any(reader.text(f"FB_PAGE_ACCESS_TOKEN_{p}") for p in served)
        port = reader.integer("PORT", 8080)
        host = reader.text("HOST") or ("127.0.0.1" if sandbox else "0.0.0.0")
        if sandbox and host not in LOOPBACK_HOSTS and not reader.flag("SALEBELL_SANDBOX_PUBLIC", False):
            raise ConfigError(f"HOST={host} in sandbox mode would open the sandbox to the network: it has no "
                              "sign-in and can reset the data, move the clock and sign webhooks with the app "
                              "secret; set SALEBELL_SANDBOX_PUBLIC=true to serve it there anyway")
        if sandbox:
            required = dict(
                app_secret=Secret(reader.text("FB_APP_SECRET") or SANDBOX_APP_SECRET),
                verify_token=Secret(reader.text("FB_VERIFY_TOKEN") or SANDBOX_VERIFY_TOKEN),
                pages=sandbox_pages(reader, served or [SANDBOX_PAGE_ID], port),
                app_id=reader.text("FB_APP_ID") or SANDBOX_APP_ID,
                graph_api_url=reader.text("GRAPH_API_URL") or f"http://127.0.0.1:{port}/sandbox/graph",
            )
        else:
            required = dict(
                app_secret=Secret(reader.required("FB_APP_SECRET")),
                verify_token=Secret(reader.required("FB_VERIFY_TOKEN")),
                pages=production_pages(reader, served),
                app_id=reader.text("FB_APP_ID"),
                graph_api_url=reader.text("GRAPH_API_URL") or META_GRAPH_URL,
            )
        admin = reader.text("ADMIN_TOKEN")
        if not admin and not sandbox:
            admin = reader.required("ADMIN_TOKEN")
        generated = not admin
        keywords = tuple(k.strip() for k in (reader.text("OPTIN_KEYWORDS") or "LIVE").split(",") if k.strip())
        return cls(
            port=port,
            host=host,
            http_idle_timeout=reader.number("HTTP_IDLE_TIMEOUT", DEFAULT_HTTP_IDLE_TIMEOUT),
            redis_url=_redis_url(reader.text("REDIS_URL"), sandbox),
            redis_cluster=reader.flag("REDIS_CLUSTER", False),
            data_dir=Path(reader.text("SALEBELL_DATA_DIR") or ".salebell"),
            sandbox=sandbox,
            graph_api_version=reader.text("GRAPH_API_VERSION") or DEFAULT_GRAPH_VERSION,
            admin_token=Secret(admin or secrets.token_urlsafe(24)),
            admin_token_generated=generated,
            optin_keywords=keywords,
            optin_title=reader.text("OPTIN_TITLE") or "Get daily reminders",
            optin_topic=reader.text("OPTIN_TOPIC") or "daily_reminders",
            marketing_path=reader.text("MARKETING_PATH") or "marketing_api",  # type: ignore[arg-type]
            otn_enabled=reader.flag("OTN_ENABLED", True),
            message_tags_enabled=reader.flag("MESSAGE_TAGS_ENABLED", True),
            utility_messages_enabled=reader.flag("UTILITY_MESSAGES_ENABLED", False),
            human_agent_tag=reader.flag("HUMAN_AGENT_TAG", False),
            sends_per_shopper_per_day=reader.integer("SENDS_PER_SHOPPER_PER_DAY", 1),
            page_send_rate=reader.number("PAGE_SEND_RATE", 250.0),
            page_daily_budget=reader.integer("PAGE_DAILY_BUDGET", 0),
            human_pause_minutes=reader.integer("HUMAN_PAUSE_MINUTES", 30),
            followup_hours=reader.integer("FOLLOWUP_HOURS", 12),
            followup_offer=reader.text("FOLLOWUP_OFFER") or "reminders",
            followup_otn_title=reader.text("FOLLOWUP_OTN_TITLE") or "Tell me about the next live sale",
            worker_concurrency=reader.integer("WORKER_CONCURRENCY", 64),
            send_concurrency=reader.integer("SEND_CONCURRENCY", 64),
            lease_seconds=reader.number("LEASE_SECONDS", 30.0),
            reclaim_idle_seconds=reader.number("RECLAIM_IDLE_SECONDS", 30.0),
            send_retry_seconds=reader.number("SEND_RETRY_SECONDS", 600.0),
            echo_wait_seconds=reader.number("ECHO_WAIT_SECONDS", 30.0),
            send_throttle_base_seconds=reader.number("SEND_THROTTLE_BASE_SECONDS", 30.0),
            send_throttle_attempts=reader.integer("SEND_THROTTLE_ATTEMPTS", 10),
            send_usage_pause_seconds=reader.number("SEND_USAGE_PAUSE_SECONDS", 5.0),
            run_workers_in_web=reader.flag("WEB_RUNS_WORKERS", True),
            webhook_url=reader.text("SANDBOX_WEBHOOK_URL") or f"http://127.0.0.1:{port}/webhook",
            plugins=plugin_names(reader.text("SALEBELL_PLUGINS")),
            admin_api_url=reader.text("SALEBELL_API_URL"),
            intents_packages=tuple(p.strip() for p in (reader.text("INTENTS_PACKAGES") or "intents").split(",")
                                   if p.strip()),
            action_server_url=reader.text("ACTION_SERVER_URL"),
            remote_actions=tuple(a.strip() for a in reader.text("REMOTE_ACTIONS").split(",") if a.strip()),
            comment_optin_scope=reader.text("COMMENT_OPTIN_SCOPE").lower() or "all",
            optin_image_url=reader.text("OPTIN_IMAGE_URL"),
            greeting_text=reader.text("GREETING_TEXT"),
            shop_url=reader.text("SHOP_URL"),
            nlu_weights=reader.text("NLU_WEIGHTS"),
            fallback_text=reader.text("FALLBACK_TEXT") or DEFAULT_FALLBACK_TEXT,
            fallback_quiet_hours=reader.number("FALLBACK_QUIET_HOURS", 4.0),
            handover_on_fallback=reader.flag("HANDOVER_ON_FALLBACK", False),
            handover_text=reader.text("HANDOVER_TEXT") or DEFAULT_HANDOVER_TEXT,
            checkout_url_template=reader.text("CHECKOUT_URL_TEMPLATE"),
            claim_settle_ms=reader.integer("CLAIM_SETTLE_MS", 300),
            claim_hold_minutes=reader.number("CLAIM_HOLD_MINUTES", 15.0),
            **first_page_fields(required),  # type: ignore[arg-type]
        )

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes``; changing a page field of a one-Page settings changes its Page."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if len(self.pages) == 1 and "pages" not in changes and any(name in changes for name in PAGE_SETTINGS):
            values["pages"] = ()  # rebuilt from the page fields
        values.update(changes)
        return Settings(**values)


def _redis_url(raw: str, sandbox: bool) -> str | None:
    """``REDIS_URL``, or None for the embedded Redis: asked for by name, or by leaving it unset in sandbox mode.

    In production an unset ``REDIS_URL`` is a mistake to stop at, not a reason to keep the shop's data
    in a local file nobody backs up (issue 8, finding 11).
    """
    if raw.lower() == EMBEDDED_REDIS:
        return None
    if raw:
        if not raw.startswith(REDIS_URL_SCHEMES):
            raise ConfigError(f"REDIS_URL must start with {', '.join(REDIS_URL_SCHEMES)} "
                              f"(or be {EMBEDDED_REDIS!r}), e.g. redis://127.0.0.1:6379/0")
        return raw
    if sandbox:
        return None
    raise ConfigError("REDIS_URL is required when FB_PAGE_ACCESS_TOKEN is set (production mode); "
                      f"set it to your Redis, or to {EMBEDDED_REDIS!r} for the embedded Redis under SALEBELL_DATA_DIR")
