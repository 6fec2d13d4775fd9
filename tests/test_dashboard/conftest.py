"""Fixtures of the dashboard tests: the live-sale shop of tests/test_live_sales (admin token
``test-admin-token``), and for the browser tests one Chromium per module and a ``salebell serve`` per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_dashboard.browser import CHROMIUM_ARGS, ServedBot, find_chromium, in_ci
from tests.test_live_sales.conftest import shop  # noqa: F401 - the fixture, shared

LAUNCH_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A browser for the module: Debian's Chromium with a fresh user-data dir (skips where there is none)."""
    path = find_chromium()
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it
    except ImportError:
        if in_ci():
            pytest.fail("playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if path is None:
        if in_ci():
            pytest.fail("no Chromium: .ci/run installs the Debian package chromium (/usr/bin/chromium)")
        pytest.skip("no Chromium found: install the Debian package chromium (or set SALEBELL_CHROMIUM)")
    profile = tempfile.mkdtemp(prefix="salebell-chromium-")
    playwright = sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=path, args=CHROMIUM_ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS)
        try:
            yield context.browser
        finally:
            context.close()
    finally:
        playwright.stop()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def served() -> Iterator[ServedBot]:
    """``salebell serve`` (web and workers in one process) on a Page of this test's own."""
    bot = ServedBot().start()
    yield bot
    bot.stop()


@pytest.fixture
def served_web_only() -> Iterator[ServedBot]:
    bot = ServedBot(flags=("--web-only",)).start()
    yield bot
    bot.stop()


def new_context(browser: Any, viewport: dict[str, int]) -> Any:
    """A fresh browser context (its own cookies and storage) with bounded waits."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return context
