"""Ending the processes a test started (``salebell worker``, ``serve``, the CLI) without ever hanging the run."""

from __future__ import annotations

import asyncio
import signal

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
