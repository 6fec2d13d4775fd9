"""The fan-out: one notification job per subscriber of a topic, queued once, resumable anywhere.

A campaign (a started sale, a blast) has a fan-out record in Redis
(``Keys.fanout``): the topic, a phase and an HSCAN cursor, the count of
subscribers covered so far (``eligible``) and a state (``running``, ``done``,
``cancelled``). Every process's runtime polls ``Keys.fanouts_active``; the one
that takes the campaign's lease (``SET NX PX``) scans a batch of subscribers,
queues their jobs through the outbox, then advances the cursor in one script that
first checks it still holds the lease and that the cursor is where it read it.

Why this survives a process dying: the lease expires after ``LEASE_MS`` and
another process resumes from the recorded cursor. The batch in flight when it
died is scanned and queued again, but a job's id is ``<campaign>.<psid>`` and
the outbox queues an id once, so nobody is queued twice; ``eligible`` moves only
with the cursor, so it counts each batch once. (HSCAN may return a field twice if
the hash is resized during the scan: queued once still, but counted twice in ``eligible``.)

Subscribers are those of :meth:`bot.consent.ConsentStore.subscribers`: every
holder of a marketing subscription to the topic (phase ``subs``), then holders of
an OTN token for it without one (phase ``otn``). The policy decides per job
(window, marketing token, OTN, or a skip with its reason). Queuing stays at most
:func:`max_ahead` jobs ahead of the send workers, so the outbox stream stays small
and a cancel leaves little to skip. Cancel: ``Keys.campaign_cancelled`` is set;
queuing stops at the next batch and queued jobs are skipped as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.clock import Clock
from bot.graph.payloads import PayloadError
from bot.keys import Keys
from bot.outbox import Outbox, SendJob
from bot.settings import Settings

from .messages import Notification, for_broadcast, for_sale
from .model import Broadcast, LiveSale, text
from .numbers import campaign_numbers

log = logging.getLogger(__name__)

BATCH = 1000
LEASE_MS = 10_000
POLL_SECONDS = 0.25
CANCEL_TTL = 30 * 24 * 3600

# KEYS: fan-out, lease, cancelled flag, active set. ARGV: owner, phase and cursor read, next phase
# and cursor, subscribers covered by the batch, lease ms, now, campaign.
# Returns 1 (go on), 0 (finished: done or cancelled), -1 (lease lost), -2 (not running), -3 (moved).
_ADVANCE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local f = redis.call('HMGET', KEYS[1], 'phase', 'cursor', 'state')
if f[3] ~= 'running' then redis.call('SREM', KEYS[4], ARGV[9]); redis.call('DEL', KEYS[2]); return -2 end
if f[1] ~= ARGV[2] or f[2] ~= ARGV[3] then return -3 end
redis.call('HINCRBY', KEYS[1], 'eligible', ARGV[6])
redis.call('HSET', KEYS[1], 'phase', ARGV[4], 'cursor', ARGV[5])
local final = nil
if redis.call('EXISTS', KEYS[3]) == 1 then final = 'cancelled' elseif ARGV[4] == 'done' then final = 'done' end
if final then
  redis.call('HSET', KEYS[1], 'state', final, 'finished_ms', ARGV[8])
  redis.call('SREM', KEYS[4], ARGV[9])
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1
"""
# KEYS: lease. ARGV: owner, lease ms ('' releases). Renews or releases only a lease we hold.
_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# KEYS: fan-out, cancelled flag, active set. ARGV: campaign, now. Stops queuing and skips what is queued.
_CANCEL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('SET', KEYS[2], '1', 'EX', %d)
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_ms', ARGV[2])
  return 1
end
return 0
""" % CANCEL_TTL


def max_ahead(settings: Settings) -> int:
    """Jobs queued but not yet handled that the fan-out allows: about 4 s of sending at the Page cap."""
    return max(500, int(settings.page_send_rate * 4)) if settings.page_send_rate > 0 else 5000


class FanoutRunner:
    """Advances the campaigns' fan-outs from one process (``owner``: the runtime's unique name)."""

    def __init__(self, redis: Redis, keys: Keys, outbox: Outbox, settings: Settings, owner: str) -> None:
        self._redis = redis
        self._keys = keys
        self._outbox = outbox
        self._owner = owner
        self._clock = Clock(redis, keys)
        self._ahead = max_ahead(settings)
        self._advance = redis.register_script(_ADVANCE)
        self._lease = redis.register_script(_LEASE)
        self._cancel = redis.register_script(_CANCEL)

    async def loop(self, stop: asyncio.Event) -> None:
        """Background task of a runtime: resume or run any active fan-out, until ``stop``."""
        while not stop.is_set():
            try:
                await self.run_pending(stop)
            except (RedisError, OSError) as exc:
                log.warning("fan-out runner %s: Redis unavailable (%s)", self._owner, type(exc).__name__)
            except Exception:  # a bug must not end the loop of every later campaign
                log.exception("fan-out runner %s: a fan-out step failed; retrying", self._owner)
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def run_pending(self, stop: asyncio.Event | None = None) -> int:
        """Run every active fan-out whose lease this process can take, to its end; how many ran."""
        ran = 0
        for raw in await self._redis.smembers(self._keys.fanouts_active):
            campaign = text(raw)
            lease = self._keys.fanout_lease(campaign)
            if not await self._redis.set(lease, self._owner, nx=True, px=LEASE_MS):
                continue  # another process is on it (or its lease has not expired yet)
            try:
                await self._run(campaign, stop)
            finally:
                await self._lease(keys=[lease], args=[self._owner, ""])
            ran += 1
        return ran

    async def cancel(self, campaign: str, now_ms: int) -> bool | None:
        """Stop queuing and skip the queued jobs; True if it was still queuing, None if unknown."""
        result = await self._cancel(keys=[self._keys.fanout(campaign), self._keys.campaign_cancelled(campaign),
                                          self._keys.fanouts_active], args=[campaign, now_ms])
        return None if result == -1 else bool(result)

    async def _run(self, campaign: str, stop: asyncio.Event | None) -> None:
        raw_record = await self._redis.hgetall(self._keys.fanout(campaign))
        record = {text(k): text(v) for k, v in raw_record.items()}
        notification = await self._notification(record.get("kind", ""), record.get("source", ""))
        if record.get("state") != "running":
            await self._redis.srem(self._keys.fanouts_active, campaign)
            return
        if notification is None:  # its sale or blast is gone: nothing to say
            await self.cancel(campaign, await self._clock.now_ms())
            return
        topic, phase, cursor = record["topic"], record["phase"], record["cursor"]
        log.info("fan-out %s: %s from %s/%s", campaign, self._owner, phase, cursor)
        while stop is None or not stop.is_set():
            await self._wait_for_senders(campaign, stop)
            next_phase, next_cursor, psids = await self._scan(topic, phase, int(cursor))
            if psids:
                await self._outbox.enqueue_many([
                    SendJob(id=f"{campaign}.{psid}", purpose="notification", psid=psid, topic=topic,
                            campaign=campaign, message=notification.message,
                            marketing_message=notification.marketing_message) for psid in psids])
            result = await self._advance(
                keys=[self._keys.fanout(campaign), self._keys.fanout_lease(campaign),
                      self._keys.campaign_cancelled(campaign), self._keys.fanouts_active],
                args=[self._owner, phase, cursor, next_phase, next_cursor, len(psids), LEASE_MS,
                      await self._clock.now_ms(), campaign])
            if result != 1:
                if result < 0:
                    log.warning("fan-out %s: %s stops (%d)", campaign, self._owner, result)
                return
            phase, cursor = next_phase, next_cursor

    async def _scan(self, topic: str, phase: str, cursor: int) -> tuple[str, str, list[str]]:
        """One batch of the phase: (next phase, next cursor, PSIDs to queue)."""
        if phase == "subs":
            nxt, found = await self._redis.hscan(self._keys.subscribers(topic), cursor, count=BATCH)
            return ("subs" if nxt else "otn"), str(nxt), list(dict.fromkeys(text(k) for k in found))
        nxt, found = await self._redis.hscan(self._keys.otn_tokens(topic), cursor, count=BATCH)
        psids = list(dict.fromkeys(text(k) for k in found))
        subscribed = await self._redis.hmget(self._keys.subscribers(topic), psids) if psids else []
        return ("otn" if nxt else "done"), str(nxt), [p for p, s in zip(psids, subscribed) if s is None]

    async def _wait_for_senders(self, campaign: str, stop: asyncio.Event | None) -> None:
        """Hold back while more than ``max_ahead`` of the campaign's jobs wait for a send worker."""
        lease = self._keys.fanout_lease(campaign)
        while stop is None or not stop.is_set():
            numbers = campaign_numbers(await self._outbox.numbers(campaign=campaign))
            if numbers["queued"] - numbers["done"] <= self._ahead:
                return
            if not await self._lease(keys=[lease], args=[self._owner, LEASE_MS]):
                return  # lost: the advance will say so
            await asyncio.sleep(0.05)

    async def _notification(self, kind: str, source: str) -> Notification | None:
        """The campaign's message, or None when its source is gone or Messenger would refuse it."""
        try:
            if kind == "sale":
                raw = await self._redis.hgetall(self._keys.live_sale(source))
                return for_sale(LiveSale.from_redis(raw)) if raw else None
            if kind == "broadcast":
                raw = await self._redis.hgetall(self._keys.broadcast(source))
                return for_broadcast(Broadcast.from_redis(raw)) if raw else None
        except PayloadError as exc:
            log.error("fan-out %s: its message cannot be sent (%s); cancelled", source, exc)
        return None
