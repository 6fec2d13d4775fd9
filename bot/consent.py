"""The consent ledger: who agreed to what, and who said stop.

Per topic, each shopper's marketing subscription is one field of one Redis hash
(``psid -> "status|path|timezone|optin_ms|token"``), which keeps a subscriber
under 300 bytes of Redis. OTN tokens stack per topic and are popped atomically,
so each is used once. Two Page-wide records override every topic: shoppers who
asked *us* to stop (``opted_out``, set at once from chat) and shoppers Meta says
cannot be reached (``unreachable``).

Statuses, as reported by the admin API: ``active``, ``stopped`` (STOP in
Messenger), ``opted_out`` (asked us to stop), ``unreachable``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from .batched_reads import Staged, stage
from .keys import Keys
from .scripts import register_script

Status = Literal["active", "stopped", "opted_out", "unreachable"]
_CODE = {"active": "a", "stopped": "s"}
_STATUS = {"a": "active", "s": "stopped"}

OTN_LIFETIME_MS = 365 * 24 * 3600 * 1000  # a one-time notification token is valid up to a year from its opt-in

# KEYS: the topic's OTN hash, the send job's record (or the hash itself when not for a job).
# ARGV: the shopper, '1' when for a job, now (ms), the tokens' lifetime (ms). Each stored entry is
# "token@created_ms"; expired ones are dropped, never returned (an entry stored without its time,
# before times were kept, counts as valid). The record keeps the popped entry until the job ends,
# so a job whose worker died between the pop and the send gets the same token again.
_TAKE_OTN = """
local for_job = ARGV[2] == '1'
if for_job then
  local held = redis.call('HGET', KEYS[2], 'otn')
  if held then return held end
end
local tokens = redis.call('HGET', KEYS[1], ARGV[1])
if not tokens then return false end
local now, life = tonumber(ARGV[3]), tonumber(ARGV[4])
local first, keep = nil, {}
for entry in string.gmatch(tokens, '%S+') do
  local created = tonumber(string.match(entry, '@(%d+)$'))
  if created == nil or created + life > now then
    if first == nil then first = entry else keep[#keep + 1] = entry end
  end
end
if #keep == 0 then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], table.concat(keep, ' ')) end
if first == nil then return false end
if for_job and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'otn', first) end
return first
"""
# KEYS: the topic's OTN hash. ARGV: the shopper, the entry ("token@created_ms"), the bare token.
_ADD_OTN = """
local tokens = redis.call('HGET', KEYS[1], ARGV[1])
if tokens then
  for entry in string.gmatch(tokens, '%S+') do
    if entry == ARGV[3] or string.match(entry, '^(.-)@%d+$') == ARGV[3] then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], tokens and (tokens .. ' ' .. ARGV[2]) or ARGV[2])
return 1
"""


def otn_token(entry: str) -> str:
    """The token of a stored OTN entry ("token@created_ms")."""
    return entry.rsplit("@", 1)[0] if "@" in entry else entry


@dataclass(frozen=True, slots=True)
class Subscription:
    """One shopper's marketing-message subscription to one topic."""

    psid: str
    topic: str
    status: Status
    token: str
    path: str
    timezone: str
    optin_ms: int

    def pack(self) -> str:
        return "|".join((_CODE[self.status], self.path, self.timezone, str(self.optin_ms), self.token))

    @classmethod
    def unpack(cls, psid: str, topic: str, packed: str | bytes) -> Subscription:
        text = packed.decode() if isinstance(packed, bytes) else packed
        code, path, tz, optin_ms, token = text.split("|", 4)
        return cls(psid, topic, _STATUS[code], token, path, tz, int(optin_ms))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ShopperConsent:
    """Everything the policy needs to know about one shopper for one topic."""

    subscription: Subscription | None
    otn_tokens: int
    opted_out: bool
    unreachable: bool

    @property
    def status(self) -> Status | None:
        if self.unreachable:
            return "unreachable"
        if self.opted_out:
            return "opted_out"
        return self.subscription.status if self.subscription else None


class ConsentStore:
    """Reads and writes the consent ledger of one Page."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._take_otn = register_script(redis, _TAKE_OTN)
        self._add_otn = register_script(redis, _ADD_OTN)

    # -- marketing messages (notification_messages tokens) ------------------
    async def opt_in(self, psid: str, topic: str, token: str, *, path: str, timezone: str, at_ms: int,
                     status: Literal["active", "stopped"] = "active") -> None:
        """A new opt-in (or re-opt-in, which replaces the token): consent again, so a local opt-out ends.

        ``status="stopped"`` records a token first heard of in a STOP, which changes no consent.
        """
        sub = Subscription(psid, topic, status, token, path, timezone or "", at_ms)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.subscribers(topic), psid, sub.pack())
            if status == "active":
                pipe.srem(self._keys.opted_out, psid)
                pipe.hdel(self._keys.unreachable, psid)
            await pipe.execute()

    async def set_status(self, psid: str, topic: str, status: Literal["active", "stopped"],
                         token: str | None = None) -> bool:
        """STOP or RESUME from Messenger (or Meta's 'stopped' error). False if no subscription is known."""
        sub = await self.subscription(psid, topic)
        if sub is None or (token is not None and sub.token != token):
            return False
        changed = Subscription(psid, topic, status, sub.token, sub.path, sub.timezone, sub.optin_ms)
        await self._redis.hset(self._keys.subscribers(topic), psid, changed.pack())
        return True

    async def forget_token(self, psid: str, topic: str) -> None:
        """Meta says the token is invalid or expired: delete it."""
        await self._redis.hdel(self._keys.subscribers(topic), psid)

    async def subscription(self, psid: str, topic: str) -> Subscription | None:
        packed = await self._redis.hget(self._keys.subscribers(topic), psid)
        return Subscription.unpack(psid, topic, packed) if packed else None

    # -- one-time notifications ------------------------------------------------
    async def add_otn(self, psid: str, topic: str, token: str, *, created_ms: int) -> bool:
        """Keep a token from a ``one_time_notif_req`` opt-in made at ``created_ms`` (once per token)."""
        return await self._put_otn(psid, topic, f"{token}@{int(created_ms)}")

    async def _put_otn(self, psid: str, topic: str, entry: str) -> bool:
        return bool(await self._add_otn(keys=[self._keys.otn_tokens(topic)], args=[psid, entry, otn_token(entry)]))

    async def take_otn(self, psid: str, topic: str, *, now_ms: int, for_job: str | None = None) -> str | None:
        """Pop one unused OTN token younger than a year at ``now_ms`` (atomically: two workers never
        get the same one; expired ones are dropped). Returns the stored entry: :func:`otn_token` is
        the token to send with, :meth:`return_otn` takes the entry back.

        ``for_job``: the send job's record holds the entry until the job ends, and the same job
        asking again (its first worker died before sending) gets that entry back.
        """
        otn = self._keys.otn_tokens(topic)
        keys = [otn, self._keys.send_record(for_job) if for_job else otn]
        entry = await self._take_otn(keys=keys, args=[psid, "1" if for_job else "0", int(now_ms), OTN_LIFETIME_MS])
        return entry.decode() if isinstance(entry, bytes) else entry

    async def return_otn(self, psid: str, topic: str, entry: str, *, for_job: str | None = None) -> None:
        """Put back a token whose send never left (and take it off the job's record)."""
        await self._put_otn(psid, topic, entry)
        if for_job:
            await self._redis.hdel(self._keys.send_record(for_job), "otn")

    # -- Page-wide overrides -------------------------------------------------
    async def opt_out_locally(self, psid: str) -> None:
        await self._redis.sadd(self._keys.opted_out, psid)

    async def mark_unreachable(self, psid: str, code: str) -> None:
        await self._redis.hset(self._keys.unreachable, psid, code)

    async def mark_reachable(self, psid: str) -> None:
        await self._redis.hdel(self._keys.unreachable, psid)

    async def mark_optin_asked(self, psid: str, title: str, at_ms: int) -> None:
        """The shopper was asked with this opt-in title (a sent request marks it in the outbox's finish step;
        this is for a request Meta refused as already asked)."""
        await self._redis.hset(self._keys.optin_asked(psid), title, at_ms)

    # -- reading -------------------------------------------------------------
    async def consent(self, psid: str, topic: str) -> ShopperConsent:
        async with self._redis.pipeline(transaction=False) as pipe:
            staged = self.stage_consent(pipe, psid, topic)
            return staged.value(await pipe.execute())

    def stage_consent(self, pipe: Any, psid: str, topic: str) -> Staged[ShopperConsent]:
        """The shopper's consent, read in the caller's pipeline (:mod:`bot.batched_reads`)."""
        def queue() -> None:
            pipe.hget(self._keys.subscribers(topic), psid)
            pipe.hget(self._keys.otn_tokens(topic), psid)
            pipe.sismember(self._keys.opted_out, psid)
            pipe.hexists(self._keys.unreachable, psid)

        def build(replies: Sequence[Any]) -> ShopperConsent:
            packed, otn, opted_out, unreachable = replies
            return ShopperConsent(
                subscription=Subscription.unpack(psid, topic, packed) if packed else None,
                otn_tokens=len(otn.split()) if otn else 0,
                opted_out=bool(opted_out), unreachable=bool(unreachable),
            )
        return stage(pipe, queue, build)

    async def subscribers(self, topic: str, batch: int = 1000) -> AsyncIterator[list[str]]:
        """Batches of PSIDs holding a marketing subscription or an OTN token for the topic."""
        seen_otn: set[str] = set()
        async for chunk in self._scan(self._keys.subscribers(topic), batch):
            yield chunk
        async for chunk in self._scan(self._keys.otn_tokens(topic), batch):
            fresh = [p for p in chunk if p not in seen_otn]
            seen_otn.update(fresh)
            has_sub = await self._redis.hmget(self._keys.subscribers(topic), fresh) if fresh else []
            only_otn = [p for p, s in zip(fresh, has_sub) if s is None]
            if only_otn:
                yield only_otn

    async def ledger(self, topic: str) -> AsyncIterator[dict[str, object]]:
        """Rows for export: psid, status, token kinds, opt-in time and timezone."""
        async for chunk in self.subscribers(topic):
            for psid in chunk:
                c = await self.consent(psid, topic)
                sub = c.subscription
                yield {
                    "psid": psid, "status": c.status or "active",
                    "marketing_token": bool(sub), "otn_tokens": c.otn_tokens,
                    "path": sub.path if sub else "", "timezone": sub.timezone if sub else "",
                    "opted_in_ms": sub.optin_ms if sub else 0,
                }

    async def _scan(self, key: str, batch: int) -> AsyncIterator[list[str]]:
        cursor = 0
        while True:
            cursor, found = await self._redis.hscan(key, cursor, count=batch)
            if found:
                yield [k.decode() if isinstance(k, bytes) else k for k in found]
            if cursor == 0:
                return
