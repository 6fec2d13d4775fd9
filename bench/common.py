"""Helpers the benchmarks share: a process's CPU time; clearing a Page's keys is the tests' own
(:func:`salebell.testing.delete_page_keys`), re-exported here."""

from __future__ import annotations

import os
from pathlib import Path

from bot.page_wipe import delete_page_keys, key_glob

__all__ = ["cpu_seconds", "delete_page_keys", "key_glob"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc; 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
