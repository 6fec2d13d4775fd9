"""Clearing one Page's keys after a test or a benchmark run: :func:`salebell.testing.delete_page_keys`."""

from bot.page_wipe import delete_page_keys, key_glob

__all__ = ["delete_page_keys", "key_glob"]
