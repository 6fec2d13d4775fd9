"""Shoppers chatting through the sandbox: many at once, each one message after the other.

Each shopper is one coroutine sending ``seq 0``, ``seq 1``, … and waiting for the sandbox's answer
(so its events have a send order: one is accepted before the next leaves); the shoppers together
keep to an offered rate. During an outage a call takes as long as the sandbox's retries (Meta's
behaviour), so that shopper pauses, and the others go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.faults.client import FaultClient


@dataclass(frozen=True, slots=True)
class Sent:
    """One message a shopper sent and what the sandbox answered."""

    psid: str
    seq: int
    mid: str
    status: int | None  # our webhook's last answer to the sandbox; 200 = accepted
    sent_ms: int
    accepted_ms: int  # when the sandbox's call returned (the acceptance is no later than that)

    @property
    def accepted(self) -> bool:
        return self.status == 200


def now_ms() -> int:
    return int(time.time() * 1000)


async def send_one(client: FaultClient, psid: str, seq: int) -> Sent:
    started = now_ms()
    try:
        answer = await client.says(psid, f"seq {seq}")
    except Exception as exc:  # the sandbox itself failed: not accepted, and said so
        return Sent(psid, seq, f"error-{type(exc).__name__}-{psid}-{seq}", None, started, now_ms())
    return Sent(psid, seq, str(answer.get("mid")), answer.get("webhook_status"), started, now_ms())


async def burst(client: FaultClient, psids: list[str], count: int) -> list[Sent]:
    """Every shopper sends ``count`` messages back to back, all shoppers at once."""

    async def one(psid: str) -> list[Sent]:
        return [await send_one(client, psid, seq) for seq in range(count)]

    return [s for part in await asyncio.gather(*(one(p) for p in psids)) for s in part]


async def steady(client: FaultClient, psids: list[str], rate: float, seconds: float,
                 first_seq: int = 0) -> list[Sent]:
    """About ``rate`` messages a second for ``seconds``, spread over the shoppers; returns them all."""
    interval = len(psids) / rate
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def one(index: int, psid: str) -> list[Sent]:
        sent = []
        due = loop.time() + interval * index / len(psids)
        seq = first_seq
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            sent.append(await send_one(client, psid, seq))
            seq += 1
            due = max(due + interval, loop.time())  # a shopper held by retries does not catch up in a rush
        return sent

    return [s for part in await asyncio.gather(*(one(i, p) for i, p in enumerate(psids))) for s in part]


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.2) -> bool:
    """Poll the async ``check`` until it is true or ``timeout`` passes; True if it became true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if await check():
                return True
        except Exception:  # a check may meet the outage it waits out
            pass
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
