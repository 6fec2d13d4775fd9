"""Built-in handlers every runtime runs: send confirmations, receipts. (The 24-hour window is raised by
the inbox splitter as it queues the event: :mod:`bot.window`.)

- An echo carrying our ``metadata`` (the send job's id) proves the send happened;
  the outbox reads that proof before re-sending a job whose worker died mid-send.
  A Marketing Message API echo proves it for a token (``bot/reclaim.py``).
- Delivery and read watermarks mark every message sent up to them delivered or
  read, counted once per message in its campaign's and day's numbers. A message
  awaits its receipts from the moment its job is marked ``sending`` (before the
  call: Meta may deliver before the worker writes the outcome), see
  ``bot/outbox_mark.lua``.
"""

from __future__ import annotations

from redis.asyncio import Redis

from .buckets import token_digest
from .channel_numbers import channel_prefix
from .channels import channel_of
from .events import DeliveryEvent, EchoEvent, MarketingEchoEvent, ReadEvent
from .handlers import HandlerRegistry
from .keys import IDEMPOTENCY_TTL, Keys
from .scripts import register_script

registry = HandlerRegistry()

# KEYS[1]: the shopper's awaiting-receipt ZSET; ARGV: watermark, "delivered" or "read", key prefix, the
# shopper's channel's numbers prefix (bot.channel_numbers: each field is bumped under it too).
# Members are "campaign|day|job|state", state "s" (sent) or "d" (delivered); a read implies delivered.
_RECEIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES')
local counted = 0
for i = 1, #due, 2 do
  local member, score = due[i], due[i + 1]
  local campaign, day, job, state = string.match(member, '^([^|]*)|([^|]*)|([^|]*)|(%a)$')
  local bumps = {}
  if ARGV[2] == 'read' then
    if state == 's' then bumps = {'delivered', 'read'} else bumps = {'read'} end
    redis.call('ZREM', KEYS[1], member)
  elseif state == 's' then
    bumps = {'delivered'}
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZADD', KEYS[1], score, campaign .. '|' .. day .. '|' .. job .. '|d')
  end
  for _, f in ipairs(bumps) do
    if campaign ~= '' then
      redis.call('HINCRBY', ARGV[3] .. 'stats:c:' .. campaign, f, 1)
      redis.call('HINCRBY', ARGV[3] .. 'stats:c:' .. campaign, ARGV[4] .. f, 1)
    end
    redis.call('HINCRBY', ARGV[3] .. 'stats:d:' .. day, f, 1)
    redis.call('HINCRBY', ARGV[3] .. 'stats:d:' .. day, ARGV[4] .. f, 1)
  end
  counted = counted + #bumps
end
return counted
"""


# KEYS: the token's echo, the Page's latest echoed send time. ARGV: the send's time, tracking id, TTL.
_MARKETING_ECHO = """
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
end
return 1
"""


@registry.on("echo")
async def remember_echo(event: EchoEvent, redis: Redis, keys: Keys) -> None:
    if event.metadata:
        await redis.set(keys.echo_seen(event.metadata), event.mid, ex=IDEMPOTENCY_TTL)


@registry.on("marketing_echo")
async def remember_marketing_echo(event: MarketingEchoEvent, redis: Redis, keys: Keys) -> None:
    """A Marketing Message API send arrived: remembered by its token (never stored in clear) and time.

    The Marketing Message API takes no metadata, so a reclaimed job recognises its own send by the
    subscription token it used and a time at or after its call (a token is used at most once per
    12 h, so that is one send).
    """
    await register_script(redis, _MARKETING_ECHO)(keys=[keys.marketing_echo(token_digest(event.token)),
                                                        keys.marketing_echo_latest],
                                                  args=[event.timestamp, event.tracking_id, IDEMPOTENCY_TTL])


Raw = bytes | str | None


async def marketing_echo_of(redis: Redis, keys: Keys, token: str | None) -> tuple[Raw, Raw]:
    """(the token's last echo, ``"<ms>:<tracking id>"``, or None; the Page's latest echoed send ms, or None)."""
    seen, latest = await redis.mget([keys.marketing_echo(token_digest(token) if token else "-"),
                                     keys.marketing_echo_latest])
    return seen, latest


@registry.on("delivery", "read")
async def count_receipt(event: DeliveryEvent | ReadEvent, redis: Redis, keys: Keys) -> None:
    field = "read" if isinstance(event, ReadEvent) else "delivered"
    await register_script(redis, _RECEIPT)(keys=[keys.awaiting_receipt(event.psid)],
                                           args=[event.watermark, field, keys.prefix,
                                                 channel_prefix(channel_of(event.psid))])
