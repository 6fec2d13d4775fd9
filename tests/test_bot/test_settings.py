"""Settings from the environment: sandbox defaults, production's required variables, secrets that never show."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

import pytest

from bot.errors import ConfigError
from bot.settings import DEFAULT_FALLBACK_TEXT, DEFAULT_PLUGINS, Settings, plugin_names

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
