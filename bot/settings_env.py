"""The environment read into :class:`~bot.settings.Settings`, once, at start-up (12-factor).

Every environment variable the settings read is named in this module or, for those a Page
may have of its own (``FB_PAGES``, ``FB_PAGE_ACCESS_TOKEN_<id>``, ...), in
:mod:`bot.page_settings`. Without ``FB_PAGE_ACCESS_TOKEN`` the bot runs in sandbox mode: it
talks to its own Messenger stand-in under ``/sandbox/`` and needs no Facebook app; outside
it, a missing required variable stops start-up with its name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from .env_reader import EnvReader
from .errors import ConfigError
from .page_settings import SANDBOX_PAGE_ID, first_page_fields, page_ids, production_pages, sandbox_pages
from .plugins import installed_plugin_names
from .secret import Secret
from .settings import (
    DEFAULT_FALLBACK_TEXT,
    DEFAULT_GRAPH_VERSION,
    DEFAULT_HANDOVER_TEXT,
    DEFAULT_HTTP_IDLE_TIMEOUT,
    SANDBOX_APP_ID,
    SANDBOX_APP_SECRET,
    SANDBOX_VERIFY_TOKEN,
    Settings,
)

META_GRAPH_URL = "https://graph.facebook.com"
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


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
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
    return Settings(
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
