"""Ending the processes a test started (``salebell worker``, ``serve``, the CLI) without ever hanging the run."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest

EXIT_SECONDS = 20.0


async def end_process(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM,
                      timeout: float = EXIT_SECONDS) -> int:
    """Send ``sig`` (if it still runs) and wait for the exit; one that ignores it is killed and fails the test."""
    if proc.returncode is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"process {proc.pid} did not exit within {timeout:.0f}s of signal {sig}; killed")


def end_popen(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = EXIT_SECONDS) -> int | None:
    """The same for a ``subprocess.Popen`` (processes a session-wide fixture owns, outside any event loop).

    Returns the exit code, or None when the process ignored ``sig`` and had to be killed (the caller
    reports it: a fixture's teardown must finish ending its other processes first).
    """
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
        return None
