"""The fan-out: one notification job per subscriber of a topic, queued once, resumable anywhere.

A campaign (a started sale, a blast) has a fan-out record in Redis (``SaleKeys.fanout``):
the topic, a phase, the index reached in its recipient snapshot, the number of
recipients (``eligible``) and a state (``running``, ``done``, ``cancelled``). Every
process's runtime polls ``SaleKeys.fanouts_active``; the one that takes the campaign's
lease (``SET NX PX``) advances it.

First the campaign takes a **snapshot** of its recipients, in one script: every holder
of a marketing subscription to the topic, then every holder of an OTN token for it
without one, pushed onto a list the campaign owns (``SaleKeys.fanout_recipients``). Then it
**walks** the snapshot by index: a batch of recipients is queued through the outbox, and
one script advances the index after checking that the process still holds the lease and
that the index is where it read it.

Why a snapshot walked by index (DESIGN.md invariant 6): an HSCAN cursor means nothing
after a Redis restart, a failover or a slot migration (the hash is rebuilt with another
seed), so a fan-out that resumed from a stored cursor skipped a quarter of its
subscribers after one restart (issue 8, finding 1). A list and an index are data: they
survive with the rest (AOF), and mean the same afterwards. Subscribers who opt in after
the start are not in the snapshot, which is what "notify the subscribers of this sale"
means. If a process dies, its lease expires after ``LEASE_MS`` and another resumes from
the recorded index; the batch in flight is queued again, but a job's id is
``<campaign>.<psid>`` and the outbox queues an id once, so nobody is queued twice.

The policy decides per job (window, marketing token, OTN, or a skip with its reason).
Queuing stays at most :func:`max_ahead` jobs ahead of the send workers, so the outbox
stays small and a cancel leaves little to skip. Cancel: ``Keys.campaign_cancelled`` is
set; queuing stops at the next batch and queued jobs are skipped as ``cancelled``. The
snapshot is deleted when the fan-out ends.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from bot.backoff import poll_until_stopped
from bot.clock import Clock
from bot.graph.payloads import PayloadError
from bot.keys import Keys
from bot.outbox import Outbox
from bot.scripts import register_script
from bot.send_jobs import SendJob
from bot.settings import Settings

from .keys import SaleKeys
from .messages import Notification, for_broadcast, for_reminder, for_sale
from .model import Broadcast, LiveSale, text
from .numbers import campaign_numbers

log = logging.getLogger(__name__)

BATCH = 1000
LEASE_MS = 10_000
POLL_SECONDS = 0.25
CANCEL_TTL = 30 * 24 * 3600

# KEYS: fan-out, lease, snapshot list, subscriptions hash, OTN hash. ARGV: owner, lease ms.
# Takes the recipient snapshot (subscribers, then OTN-only holders) if the fan-out is running and has
# none yet. Returns the number of recipients, -1 (lease lost), -2 (not running).
_SNAPSHOT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local f = redis.call('HMGET', KEYS[1], 'state', 'phase')
if f[1] ~= 'running' then return -2 end
if f[2] == 'walk' then return tonumber(redis.call('HGET', KEYS[1], 'eligible')) end
redis.call('DEL', KEYS[3])
local function push(list)
  for i = 1, #list, 5000 do
    redis.call('RPUSH', KEYS[3], unpack(list, i, math.min(i + 4999, #list)))
  end
end
push(redis.call('HKEYS', KEYS[4]))
local only_otn = {}
for _, psid in ipairs(redis.call('HKEYS', KEYS[5])) do
  if redis.call('HEXISTS', KEYS[4], psid) == 0 then only_otn[#only_otn + 1] = psid end
end
push(only_otn)
local total = redis.call('LLEN', KEYS[3])
redis.call('HSET', KEYS[1], 'phase', 'walk', 'index', 0, 'eligible', total)
redis.call('HDEL', KEYS[1], 'cursor')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return total
"""
# KEYS: fan-out, lease, cancelled flag, active set, snapshot list. ARGV: owner, index read, recipients
# covered by the batch, lease ms, now, campaign.
# Returns 1 (go on), 0 (finished: done or cancelled), -1 (lease lost), -2 (not running), -3 (moved).
_ADVANCE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local f = redis.call('HMGET', KEYS[1], 'index', 'state', 'eligible')
if f[2] ~= 'running' then
  redis.call('SREM', KEYS[4], ARGV[6]); redis.call('DEL', KEYS[2]); redis.call('DEL', KEYS[5]); return -2
end
if f[1] ~= ARGV[2] then return -3 end
local index = tonumber(ARGV[2]) + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'index', index)
local final = nil
if redis.call('EXISTS', KEYS[3]) == 1 then final = 'cancelled' elseif index >= tonumber(f[3]) then final = 'done' end
if final then
  redis.call('HSET', KEYS[1], 'state', final, 'phase', 'done', 'finished_ms', ARGV[5])
  redis.call('SREM', KEYS[4], ARGV[6])
  redis.call('DEL', KEYS[2])
  redis.call('DEL', KEYS[5])
  return 0
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""
# KEYS: lease. ARGV: owner, lease ms ('' releases). Renews or releases only a lease we hold.
_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# KEYS: fan-out, cancelled flag, active set, snapshot list. ARGV: campaign, now.
# Stops queuing and skips what is queued.
_CANCEL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('SET', KEYS[2], '1', 'EX', %d)
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
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

    def __init__(self, redis: Redis, keys: Keys, outbox: Outbox, settings: Settings, owner: str, *,
                 batch: int = BATCH) -> None:
        self._redis = redis
        self._batch = batch
        self._keys = SaleKeys.of(keys)
        self._outbox = outbox
        self._owner = owner
        self._clock = Clock(redis, keys)
        self._ahead = max_ahead(settings)
        self._snapshot = register_script(redis, _SNAPSHOT)
        self._advance = register_script(redis, _ADVANCE)
        self._lease = register_script(redis, _LEASE)
        self._cancel = register_script(redis, _CANCEL)

    async def loop(self, stop: asyncio.Event) -> None:
        """Background task of a runtime: resume or run any active fan-out, until ``stop``."""
        await poll_until_stopped(lambda: self.run_pending(stop), stop, every=POLL_SECONDS,
                                 what=f"fan-out runner {self._owner}", log=log)

    async def run_pending(self, stop: asyncio.Event | None = None, *, max_batches: int | None = None) -> int:
        """Run every active fan-out whose lease this process can take, to its end (or for
        ``max_batches`` batches each: tests, burst mode); how many ran."""
        ran = 0
        for raw in await self._redis.smembers(self._keys.fanouts_active):
            campaign = text(raw)
            lease = self._keys.fanout_lease(campaign)
            mine = await self._redis.set(lease, self._owner, nx=True, px=LEASE_MS) or \
                await self._lease(keys=[lease], args=[self._owner, LEASE_MS])  # still ours (e.g. after an outage)
            if not mine:
                continue  # another process is on it (or its lease has not expired yet)
            try:
                await self._run(campaign, stop, max_batches)
            finally:
                await self._lease(keys=[lease], args=[self._owner, ""])
            ran += 1
        return ran

    async def record(self, campaign: str) -> dict[str, str]:
        """The campaign's fan-out record (kind, phase, index, eligible, state, times); empty if it has none."""
        return {text(k): text(v) for k, v in (await self._redis.hgetall(self._keys.fanout(campaign))).items()}

    async def cancel(self, campaign: str, now_ms: int) -> bool | None:
        """Stop queuing and skip the queued jobs; True if it was still queuing, None if unknown."""
        result = await self._cancel(keys=[self._keys.fanout(campaign), self._keys.campaign_cancelled(campaign),
                                          self._keys.fanouts_active, self._keys.fanout_recipients(campaign)],
                                    args=[campaign, now_ms])
        return None if result == -1 else bool(result)

    async def _run(self, campaign: str, stop: asyncio.Event | None, max_batches: int | None) -> None:
        raw_record = await self._redis.hgetall(self._keys.fanout(campaign))
        record = {text(k): text(v) for k, v in raw_record.items()}
        notification = await self._notification(record.get("kind", ""), record.get("source", ""))
        if record.get("state") != "running":
            await self._redis.srem(self._keys.fanouts_active, campaign)
            return
        if notification is None:  # its sale or blast is gone: nothing to say
            await self.cancel(campaign, await self._clock.now_ms())
            return
        k, topic = self._keys, record["topic"]
        recipients = k.fanout_recipients(campaign)
        total = await self._snapshot(keys=[k.fanout(campaign), k.fanout_lease(campaign), recipients,
                                           k.subscribers(topic), k.otn_tokens(topic)], args=[self._owner, LEASE_MS])
        if total < 0:
            log.warning("fan-out %s: %s stops before its snapshot (%d)", campaign, self._owner, total)
            return
        index = int(await self._redis.hget(k.fanout(campaign), "index") or 0)
        log.info("fan-out %s: %s at %d of %d", campaign, self._owner, index, total)
        batches = 0
        while (stop is None or not stop.is_set()) and (max_batches is None or batches < max_batches):
            batches += 1
            await self._wait_for_senders(campaign, stop)
            psids = [text(p) for p in await self._redis.lrange(recipients, index, index + self._batch - 1)]
            if psids:
                await self._outbox.enqueue_many([
                    SendJob(id=f"{campaign}.{psid}", purpose="notification", psid=psid, topic=topic,
                            campaign=campaign, message=notification.message,
                            marketing_message=notification.marketing_message) for psid in psids])
            result = await self._advance(
                keys=[k.fanout(campaign), k.fanout_lease(campaign), k.campaign_cancelled(campaign),
                      k.fanouts_active, recipients],
                args=[self._owner, index, len(psids), LEASE_MS, await self._clock.now_ms(), campaign])
            if result != 1:
                if result < 0:
                    log.warning("fan-out %s: %s stops (%d)", campaign, self._owner, result)
                return
            index += len(psids)

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
            if kind == "reminder":
                raw = await self._redis.hgetall(self._keys.live_sale(source))
                return for_reminder(LiveSale.from_redis(raw)) if raw else None
            if kind == "broadcast":
                raw = await self._redis.hgetall(self._keys.broadcast(source))
                return for_broadcast(Broadcast.from_redis(raw)) if raw else None
        except PayloadError as exc:
            log.error("fan-out %s: its message cannot be sent (%s); cancelled", source, exc)
        return None
