"""Helpers the benchmarks share: a process's CPU time; py-spy on processes for a block; clearing a Page's
keys is the tests' own (:func:`salebell.testing.delete_page_keys`), re-exported here."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bot.page_wipe import delete_page_keys, key_glob

__all__ = ["cpu_seconds", "delete_page_keys", "key_glob", "py_spy", "recording"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc; 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def py_spy() -> str:
    """The py-spy beside this interpreter (or on PATH); '' when it is not installed (it is not a dependency)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return spy if Path(spy).exists() else ""


@contextlib.contextmanager
def recording(spy: str, folder: Path, procs: dict[int, str]) -> Iterator[None]:
    """py-spy at 200 Hz on each process of ``procs`` (pid: label) for as long as the block runs: py-spy's
    raw collapsed stacks into ``folder/<pid>-<label>.txt``, which ``bench/profile_summary.py`` reads."""
    spies = [subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--idle",
                               "--nonblocking", "--output", str(folder / f"{pid}-{label}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid, label in procs.items()]
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        for proc in spies:
            proc.send_signal(signal.SIGINT)
        for proc in spies:
            proc.wait(timeout=30)
