"""A plugin for the fault suite's workers: the history of handled events, and one reply per event.

Loaded with ``SALEBELL_PLUGINS=dialogue,live_sales,tests.faults.history``. For every message
``seq N`` it records ``psid mid N handled_ms`` in the bot's Redis exactly once (one script: a
per-event marker set with NX, then the append; a handler re-run after a crash finds the marker
and records nothing, and counts the re-run instead), and queues one reply ``ack N`` whose job id
is derived from the mid, through the runtime's outbox (which queues an id once). So the history
says in which order events were handled, the sandbox's inbox in which order replies arrived,
and neither can show a duplicate that the bot did not make.

Its ``setup`` also keeps a key ``faults:ready:<pid>`` alive while the worker's runtime runs, which
is how the harness knows a freshly started worker is up.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.events import MessageEvent
from bot.graph import payloads
from bot.handlers import HandlerRegistry
from bot.keys import Keys
from bot.outbox import Outbox
from bot.plugins import Plugin
from bot.send_jobs import SendJob
from bot.streams import sleep_or_stop

if TYPE_CHECKING:
    from bot.runtime import Runtime

registry = HandlerRegistry()

SEQ = re.compile(r"^seq (\d+)$")
ACK = re.compile(r"^ack (\d+)$")
MARK_TTL = 24 * 3600

# KEYS: the event's marker, the history list, the re-run counter. ARGV: the history line, marker TTL.
_RECORD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
redis.call('INCR', KEYS[3])
return 0
"""


def history_key(keys: Keys) -> str:
    return keys.prefix + "faults:history"


def reruns_key(keys: Keys) -> str:
    return keys.prefix + "faults:reruns"


def marker_key(keys: Keys, mid: str) -> str:
    return keys.prefix + "faults:seen:" + mid


def ack_job_id(mid: str) -> str:
    return "ack." + mid


def ready_key(keys: Keys, pid: int) -> str:
    return keys.prefix + f"faults:ready:{pid}"


def setup(runtime: Runtime) -> None:
    """Announce, while the runtime runs (workers only: ``serve --web-only`` never starts it)."""
    runtime.add_background(lambda stop: _announce_ready(runtime.redis, runtime.keys, stop))


async def _announce_ready(redis: Redis, keys: Keys, stop: asyncio.Event) -> None:
    key = ready_key(keys, os.getpid())
    while not stop.is_set():
        try:
            await redis.set(key, "1", px=3000)
        except (RedisError, OSError):
            pass  # Redis is down (a scenario's doing); say so again when it is back
        await sleep_or_stop(stop, 1.0)


@registry.on("message")
async def record_and_ack(event: MessageEvent, redis: Redis, keys: Keys, outbox: Outbox) -> None:
    """``seq N``: one history line, once; then the reply ``ack N`` (queued once by its job id)."""
    match = SEQ.match(event.text or "")
    if match is None:
        return
    line = f"{event.psid} {event.mid} {match[1]} {int(time.time() * 1000)}"
    await redis.eval(_RECORD, 3, marker_key(keys, event.mid), history_key(keys), reruns_key(keys), line, MARK_TTL)
    await outbox.enqueue(SendJob(id=ack_job_id(event.mid), purpose="response", psid=event.psid,
                                 message=payloads.text(f"ack {match[1]}")))


plugin = Plugin(name="faults_history", registry=registry, setup=setup)
