"""Settings from the environment: sandbox defaults, production's required variables, secrets that never show."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

import pytest

from bot.errors import ConfigError
from bot.settings import DEFAULT_PLUGINS, Settings, plugin_names

PRODUCTION = {"FB_PAGE_ACCESS_TOKEN": "EAAG-page-token-value", "FB_APP_SECRET": "app-secret-value",
              "FB_VERIFY_TOKEN": "verify-token-value", "FB_PAGE_ID": "1234567890", "ADMIN_TOKEN": "admin-token-value"}


def test_without_a_page_token_it_is_sandbox_mode_with_working_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.sandbox and settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.graph_api_url == "http://127.0.0.1:8080/sandbox/graph"
    assert settings.admin_token and settings.admin_token_generated
    assert settings.optin_keywords == ("LIVE",)


@pytest.mark.parametrize("missing", ["FB_APP_SECRET", "FB_VERIFY_TOKEN", "FB_PAGE_ID", "ADMIN_TOKEN"])
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


def test_plugins_default_list_and_none() -> None:
    assert plugin_names(None) == plugin_names("") == plugin_names("  ") == tuple(DEFAULT_PLUGINS.split(","))
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
            defaults.send_usage_pause_seconds) == (600.0, 30.0, 5, 5.0)
    for bad in ({"SEND_THROTTLE_ATTEMPTS": "0"}, {"SEND_THROTTLE_BASE_SECONDS": "0"}, {"SEND_RETRY_SECONDS": "-1"},
                {"SEND_RETRY_SECONDS": "soon"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
