"""Settings from the environment: sandbox defaults, production's required variables, secrets that never show."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

import pytest

from bot.errors import ConfigError
from bot.plugins import installed_plugin_names
from bot.settings import DEFAULT_FALLBACK_TEXT, Settings
from bot.settings_env import plugin_names
from tests.support.processes import end_process
from tests.support.redis_server import free_port

PRODUCTION = {"FB_PAGE_ACCESS_TOKEN": "EAAG-page-token-value", "FB_APP_SECRET": "app-secret-value",
              "FB_VERIFY_TOKEN": "verify-token-value", "FB_PAGE_ID": "1234567890", "ADMIN_TOKEN": "admin-token-value",
              "REDIS_URL": "redis://127.0.0.1:6379/15"}


def test_without_a_page_token_it_is_sandbox_mode_with_working_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.sandbox and settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.graph_api_url == "http://127.0.0.1:8080/sandbox/graph"
    assert settings.admin_token and settings.admin_token_generated
    assert settings.optin_keywords == ("LIVE",)


@pytest.mark.parametrize("missing", ["FB_APP_SECRET", "FB_VERIFY_TOKEN", "FB_PAGE_ID", "ADMIN_TOKEN", "REDIS_URL"])
def test_production_names_the_missing_variable(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env(env)


def test_secrets_never_show_in_repr_or_errors() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert not settings.sandbox
    text = repr(settings) + str(settings) + f"{settings.page_access_token}"
    for name in ("FB_PAGE_ACCESS_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN", "ADMIN_TOKEN"):
        assert PRODUCTION[name] not in text, name
    assert settings.page_access_token.reveal() == PRODUCTION["FB_PAGE_ACCESS_TOKEN"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_bad_numbers_and_choices_are_refused_with_their_name() -> None:
    with pytest.raises(ConfigError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})
    with pytest.raises(ConfigError, match="MARKETING_PATH"):
        Settings.from_env({"MARKETING_PATH": "carrier-pigeon"})
    for bad in ("soon", "0", "-1"):
        with pytest.raises(ConfigError, match="HTTP_IDLE_TIMEOUT"):
            Settings.from_env({"HTTP_IDLE_TIMEOUT": bad})
    assert Settings.from_env({"HTTP_IDLE_TIMEOUT": "75"}).http_idle_timeout == 75.0


# -- finding 11 of issue 8: production never falls back to the embedded Redis quietly -------------

def test_production_without_redis_url_is_refused_with_the_way_to_ask_for_embedded() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "REDIS_URL" in str(info.value) and "'embedded'" in str(info.value)
    assert Settings.from_env({**env, "REDIS_URL": "embedded"}).redis_url is None  # asked for by name
    assert Settings.from_env({**env, "REDIS_URL": " Embedded "}).redis_url is None
    assert Settings.from_env({**env, "REDIS_URL": "redis://r:6379/0"}).redis_url == "redis://r:6379/0"


def test_sandbox_mode_keeps_the_embedded_redis_as_its_default() -> None:
    assert Settings.from_env({}).redis_url is None
    assert Settings.from_env({"REDIS_URL": "embedded"}).redis_url is None
    assert Settings.from_env({"REDIS_URL": "redis://r:6379/0"}).redis_url == "redis://r:6379/0"


async def test_serve_in_production_without_redis_url_stops_before_starting_an_embedded_redis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    env.update({k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"})
    env.update({"SALEBELL_DATA_DIR": str(tmp_path / "data"), "PORT": str(free_port())})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            await end_process(proc)
    assert proc.returncode == 2
    assert "REDIS_URL" in err.decode() and "Traceback" not in err.decode()
    assert not (tmp_path / "data").exists()  # no embedded Redis was started


def test_intent_spotting_settings() -> None:
    default = Settings.from_env({})
    assert (default.nlu_weights, default.fallback_text, default.fallback_quiet_hours) == ("", DEFAULT_FALLBACK_TEXT, 4.0)
    custom = Settings.from_env({"NLU_WEIGHTS": "shop.json", "FALLBACK_TEXT": "A person will reply 💬",
                                "FALLBACK_QUIET_HOURS": "0.5"})
    assert (custom.nlu_weights, custom.fallback_text, custom.fallback_quiet_hours) == ("shop.json", "A person will reply 💬", 0.5)
    with pytest.raises(ConfigError, match="FALLBACK_QUIET_HOURS"):
        Settings.from_env({"FALLBACK_QUIET_HOURS": "-1"})
    with pytest.raises(ConfigError, match="FALLBACK_QUIET_HOURS"):
        Settings.from_env({"FALLBACK_QUIET_HOURS": "soon"})
    with pytest.raises(ConfigError, match="FALLBACK_TEXT"):
        Settings.from_env({"FALLBACK_TEXT": "x" * 2001})


def test_plugins_default_list_and_none() -> None:
    assert plugin_names(None) == plugin_names("") == plugin_names("  ") == installed_plugin_names()
    assert set(installed_plugin_names()) >= {"dialogue", "live_sales"}  # pyproject's entry points
    assert plugin_names("none") == plugin_names("NONE") == ()
    assert plugin_names(" live_sales , shop.plugin ,") == ("live_sales", "shop.plugin")
    assert Settings.from_env({"SALEBELL_PLUGINS": "none"}).plugins == ()


async def test_start_up_stops_with_the_name_and_without_the_token() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "REDIS_URL"}
    env.update({k: v for k, v in PRODUCTION.items() if k != "FB_APP_SECRET"})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "FB_APP_SECRET" in err.decode()
    assert not any(value.encode() in out + err for value in PRODUCTION.values() if len(value) > 10)


def test_send_retry_and_throttle_settings() -> None:
    s = Settings.from_env({"SEND_RETRY_SECONDS": "120", "SEND_THROTTLE_BASE_SECONDS": "0.5",
                           "SEND_THROTTLE_ATTEMPTS": "2", "SEND_USAGE_PAUSE_SECONDS": "1"})
    assert (s.send_retry_seconds, s.send_throttle_base_seconds, s.send_throttle_attempts,
            s.send_usage_pause_seconds) == (120.0, 0.5, 2, 1.0)
    defaults = Settings.from_env({})
    assert (defaults.send_retry_seconds, defaults.send_throttle_base_seconds, defaults.send_throttle_attempts,
            defaults.send_usage_pause_seconds) == (600.0, 30.0, 10, 5.0)
    for bad in ({"SEND_THROTTLE_ATTEMPTS": "0"}, {"SEND_THROTTLE_BASE_SECONDS": "0"}, {"SEND_RETRY_SECONDS": "-1"},
                {"SEND_RETRY_SECONDS": "soon"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)


def test_sandbox_mode_refuses_a_public_host_unless_asked() -> None:
    """Issue 16: HOST=0.0.0.0 in sandbox mode exposed the unauthenticated sandbox (reset, clock, signing)."""
    with pytest.raises(ConfigError, match="SALEBELL_SANDBOX_PUBLIC=true"):
        Settings.from_env({"HOST": "0.0.0.0"})
    assert Settings.from_env({"HOST": "0.0.0.0", "SALEBELL_SANDBOX_PUBLIC": "true"}).host == "0.0.0.0"
    assert Settings.from_env({"HOST": "localhost"}).host == "localhost"
    production = {"FB_PAGE_ACCESS_TOKEN": "t", "FB_APP_SECRET": "s", "FB_VERIFY_TOKEN": "v", "FB_PAGE_ID": "1",
                  "ADMIN_TOKEN": "a", "REDIS_URL": "redis://127.0.0.1:6379/15", "HOST": "0.0.0.0"}
    assert Settings.from_env(production).host == "0.0.0.0"  # production has no sandbox to expose


def test_a_redis_url_that_is_not_one_is_refused_with_the_schemes() -> None:
    """Issue 16: REDIS_URL=notaurl gave a raw ValueError traceback from redis-py."""
    with pytest.raises(ConfigError, match="REDIS_URL must start with redis://"):
        Settings.from_env({"REDIS_URL": "notaurl"})
    assert Settings.from_env({"REDIS_URL": "unix:///tmp/redis.sock"}).redis_url == "unix:///tmp/redis.sock"


def test_a_bad_log_level_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main  # noqa: PLC0415

    assert main(["--log-level", "bogus", "stats"]) == 2
    assert "--log-level must be one of DEBUG" in capsys.readouterr().err


def test_several_page_ids_in_fb_page_id_are_refused() -> None:
    """Issue 9: a comma-separated FB_PAGE_ID was accepted unchecked (and every event dropped as foreign)."""
    with pytest.raises(ConfigError, match="FB_PAGE_ID must name one Page"):
        Settings.from_env({"FB_PAGE_ID": "111,222"})


def test_claim_settings_are_read_and_checked() -> None:
    settings = Settings.from_env({"CLAIM_WORDS": "grab, akin na ,", "CLAIM_SETTLE_MS": "800",
                                  "CHECKOUT_URL_TEMPLATE": "https://shop.test/pay/{claim_id}?code={code}"})
    assert settings.claim_words == ("grab", "akin na")
    assert (settings.claim_settle_ms, settings.checkout_url_template) == (800, "https://shop.test/pay/{claim_id}?code={code}")
    defaults = Settings.from_env({})
    assert (defaults.claim_words, defaults.claim_settle_ms, defaults.checkout_url_template) == ((), 300, "")
    assert defaults.claim_hold_minutes == 15 and Settings.from_env({"CLAIM_HOLD_MINUTES": "0"}).claim_hold_minutes == 0
    with pytest.raises(ConfigError, match="CLAIM_SETTLE_MS"):
        Settings.from_env({"CLAIM_SETTLE_MS": "-1"})
    with pytest.raises(ConfigError, match="CLAIM_HOLD_MINUTES"):
        Settings.from_env({"CLAIM_HOLD_MINUTES": "-5"})
    for template in ("https://shop.test/pay", "ftp://shop.test/{claim_id}"):
        with pytest.raises(ConfigError, match="CHECKOUT_URL_TEMPLATE"):
            Settings.from_env({"CHECKOUT_URL_TEMPLATE": template})
