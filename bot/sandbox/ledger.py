"""The Graph side's records in Redis: the send script, the sent log, the receipt queue, the config.

A send is one EVALSHA (``send.lua``): the recipient's channel and thread owner, rate limit,
recipient and token checks, window, opt-in limits, the state change, the inbox entry, the receipt
and the sent-log record, atomically, so several web processes can share the sandbox. The sends of one
event-loop turn share a pipeline (:mod:`bot.script_batches`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from .. import fast_json
from ..channels import MESSENGER
from ..clock import LUA_NOW
from ..keys import Keys
from ..replies import text
from ..script_batches import ScriptBatches
from ..scripts import register_script
from .keys import SandboxKeys

META_PAGE_RATE_LIMIT = 300  # Send API calls per second per Page (§6.1)

CONFIG_DEFAULTS: dict[str, Any] = {
    "page_rate_limit": META_PAGE_RATE_LIMIT,  # 0 = no limit
    "receipts": True,  # delivery (and read) webhooks after each accepted message
    "read_receipts": True,  # also a read webhook, not only delivery
    "sent_log": True,  # record every Graph call for GET /sandbox/sent
    "echoes": True,  # an echo webhook (with the sender's metadata) for each accepted message
    "echo_delay_ms": 0,  # hold each echo this long after its delivery receipt (an echo later than a reclaim)
    "webhook_retry_seconds": 0,  # 0: three quick retries; else keep retrying a refused webhook this long
    "page_utility_messaging": True,  # the Page granted page_utility_messaging: utility sends and templates (§9)
}

_RECORD_LUA = LUA_NOW + """
if redis.call('HGET', KEYS[1], 'sent_log') ~= '0' then
  redis.call('RPUSH', KEYS[3], ARGV[1] .. ',"at_ms":' .. clock_now(KEYS[2]) .. '}')
end
return 1
"""

_TAKE_LUA = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then redis.call('LTRIM', KEYS[1], #items, -1) end
return items
"""


def json_head(obj: dict[str, Any]) -> str:
    """``obj`` as JSON without its closing brace, for the script to append fields."""
    return fast_json.dumps(obj)[:-1]


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: str
    psid: str
    now_ms: int
    calls: int
    limit: int


@dataclass(frozen=True, slots=True)
class Receipt:
    psid: str
    timestamp: int
    mid: str
    metadata: str = ""  # the sender's metadata, echoed back (§2.3)


class Ledger:
    """Runs sends and keeps what ``GET /sandbox/sent`` and the receipt task read."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = SandboxKeys.of(keys)
        source = resources.files(__package__).joinpath("send.lua").read_text()
        self._sends = ScriptBatches(redis, register_script(redis, LUA_NOW + source))  # one pipeline per loop turn
        self._record = register_script(redis, _RECORD_LUA)
        self._take = register_script(redis, _TAKE_LUA)
        self._script_keys = [self._keys.sandbox_config, self._keys.clock_offset, self._keys.sandbox_sent]

    async def send(self, *, kind: str, address: str, mode: str, rule: str, optin_title: str = "",
                   optin_head: str = "", inbox_head: str, sent_head: str, mid: str, gap_ms: int = 0,
                   metadata: str = "", channel: str = MESSENGER, thread_app: str = "") -> SendResult:
        """Decide and apply one send; ``outcome`` is ``ok`` or a key of ``errors.OUTCOMES``.

        For a PSID recipient: ``channel`` is the endpoint's (a shopper of the other channel is no user there),
        ``thread_app`` our app id when the thread must be ours, '' to skip that check."""
        reply = await self._sends.run(self._script_keys, [
            self._keys.sandbox_prefix, kind, address, mode, rule, optin_title, optin_head,
            inbox_head, sent_head, mid, META_PAGE_RATE_LIMIT, gap_ms, metadata, channel, thread_app])
        outcome, psid, now, calls, limit = text(reply).split(" ")
        return SendResult(outcome, "" if psid == "-" else psid, int(now), int(calls), int(float(limit)))

    async def record(self, sent_head: str) -> None:
        """Log a call refused before the script (auth, validation); ``at_ms`` is appended."""
        await self._record(keys=self._script_keys, args=[sent_head])

    async def sent(self, since: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Records ``since`` (0-based position) onwards, at most ``limit``; and the total count."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self._keys.sandbox_sent, since, since + limit - 1)
            pipe.llen(self._keys.sandbox_sent)
            rows, total = await pipe.execute()
        return [json.loads(row) for row in rows], int(total)

    async def take_receipts(self, limit: int) -> list[Receipt]:
        """Pop up to ``limit`` pending receipts (atomic, so processes never share one)."""
        rows = await self._take(keys=[self._keys.sandbox_receipts], args=[limit])
        receipts = []
        for row in rows:
            psid, timestamp, mid, *metadata = text(row).split(" ", 3)
            receipts.append(Receipt(psid, int(timestamp), mid, metadata[0] if metadata else ""))
        return receipts

    async def config(self) -> dict[str, Any]:
        stored = await self._redis.hgetall(self._keys.sandbox_config)
        config = dict(CONFIG_DEFAULTS)
        for raw_name, raw_value in stored.items():
            name, value = text(raw_name), text(raw_value)
            if name in config:
                config[name] = (value == "1") if isinstance(config[name], bool) else int(value)
        return config

    async def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Store validated settings (booleans as 1/0, numbers as integers)."""
        if changes:
            mapping = {k: (int(v) if not isinstance(v, bool) else ("1" if v else "0")) for k, v in changes.items()}
            await self._redis.hset(self._keys.sandbox_config, mapping=mapping)  # type: ignore[arg-type]
        return await self.config()
