"""Fixtures of the dashboard tests: the live-sale shop of tests/test_live_sales (admin token ``test-admin-token``)."""

from tests.test_live_sales.conftest import shop  # noqa: F401 - the fixture, shared
