"""The Lua scripts behind every status change of a live sale, so each is one atomic step.

Starting is the step that must happen once however many triggers race (API, CLI,
the ``live_videos`` webhook, several processes): ``scheduled -> live`` and the
creation of the fan-out record happen in the same script, and only the caller that
saw ``scheduled`` gets ``started``.

Every script gets the same keys (:func:`live_sales.store.index_keys`): KEYS[1] the
links (post/video id -> sale), KEYS[2] the scheduled index, KEYS[3] the live index,
KEYS[4] the active fan-outs, KEYS[5] the id counter, KEYS[6] the index of all sales;
and ARGV[1], ARGV[2] the prefixes of a sale's and a fan-out's key (``SaleKeys.live_sale("")``,
``SaleKeys.fanout("")``), since the webhook's sale is only known inside the script. Every
key carries the Page's hash tag, so a script stays in one Redis Cluster slot.
"""

from __future__ import annotations

from bot.clock import LUA_NOW

# start_sale(id, now, trigger, video id to attach ('' none), url for a sale that has none)
# -> started | live | ended (it was already) | unknown | no_url
_START_FN = """
local function start_sale(id, now, trigger, video, url)
  local sale_key = ARGV[1] .. id
  local status, topic, current_url, notify = unpack(redis.call('HMGET', sale_key, 'status', 'topic', 'url',
                                                            'notify_at_start'))
  if not status then return 'unknown' end
  if status ~= 'scheduled' then return status end
  if not current_url or current_url == '' then
    if url == '' then return 'no_url' end
    redis.call('HSET', sale_key, 'url', url)
  end
  redis.call('HSET', sale_key, 'status', 'live', 'started_ms', now, 'started_by', trigger)
  if video ~= '' then
    redis.call('HSET', sale_key, 'video_id', video)
    redis.call('HSET', KEYS[1], video, id)
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], now, id)
  if notify ~= '0' then  -- a sale whose reminder is its only notification starts quietly
    redis.call('HSET', ARGV[2] .. id, 'kind', 'sale', 'source', id, 'topic', topic, 'phase', 'snapshot',
               'index', 0, 'eligible', 0, 'state', 'running', 'created_ms', now)
    redis.call('SADD', KEYS[4], id)
  end
  return 'started'
end
"""

# ARGV[3..4]: sale id, now. The reminder's fan-out (campaign <id>-r), once, while the sale is scheduled
# and its reminder is due: reminded | not_due | none (no reminder) | already | <status> | unknown.
REMIND = """
local id, now = ARGV[3], tonumber(ARGV[4])
local sale_key = ARGV[1] .. id
local status, topic, minutes, scheduled, reminded = unpack(redis.call('HMGET', sale_key, 'status', 'topic',
  'reminder_minutes', 'scheduled_ms', 'reminded_ms'))
if not status then return 'unknown' end
if status ~= 'scheduled' then return status end
minutes = tonumber(minutes or '0') or 0
if minutes <= 0 then return 'none' end
if (tonumber(reminded or '0') or 0) > 0 then return 'already' end
scheduled = tonumber(scheduled or '0') or 0
if now < scheduled - minutes * 60000 or now >= scheduled then return 'not_due' end
local campaign = id .. '-r'
redis.call('HSET', sale_key, 'reminded_ms', now)
redis.call('HSET', ARGV[2] .. campaign, 'kind', 'reminder', 'source', id, 'topic', topic, 'phase', 'snapshot',
           'index', 0, 'eligible', 0, 'state', 'running', 'created_ms', now)
redis.call('SADD', KEYS[4], campaign)
return 'reminded'
"""

# ARGV[3..5]: sale id, now, trigger. Returns start_sale's outcome.
START = _START_FN + """
return start_sale(ARGV[3], ARGV[4], ARGV[5], '', '')
"""

# KEYS[7]: the campaign's cancelled flag. ARGV[3..4]: sale id, now.
# Returns ended | scheduled (never started: refused) | already (ended before) | unknown.
# Ending stops the fan-out: nothing more is queued, and what is queued is skipped as cancelled.
END = """
local id, now = ARGV[3], ARGV[4]
local sale_key, fanout_key = ARGV[1] .. id, ARGV[2] .. id
local status = redis.call('HGET', sale_key, 'status')
if not status then return 'unknown' end
if status == 'scheduled' then return 'scheduled' end
if status == 'ended' then return 'already' end
redis.call('HSET', sale_key, 'status', 'ended', 'ended_ms', now)
redis.call('ZREM', KEYS[3], id)
redis.call('SET', KEYS[7], '1', 'EX', 30 * 24 * 3600)
if redis.call('HGET', fanout_key, 'state') == 'running' then
  redis.call('HSET', fanout_key, 'state', 'cancelled', 'finished_ms', now)
end
redis.call('SREM', KEYS[4], id)
return 'ended'
"""

# A live video went live: find its sale and start it, in one step.
# ARGV[3..]: video id, the video's post id ('' if unknown), now, oldest start a video may still
# attach to, scheduled window low and high (ms), then title, url, topic for a new sale.
# 1. a sale linked to the video (or its post): start it if scheduled;
# 2. else a sale started (API, CLI) since ARGV[6] with no video yet: attach, nothing to start;
# 3. else the earliest sale scheduled within the window: attach and start;
# 4. else a new sale from the video's title and permalink, started.
# Returns {sale id, outcome}: outcome started | created | attached | live | ended | no_url.
CLAIM_FOR_VIDEO = _START_FN + """
local video, post, now = ARGV[3], ARGV[4], ARGV[5]
local url = ARGV[10]
local id = redis.call('HGET', KEYS[1], video)
if not id and post ~= '' then id = redis.call('HGET', KEYS[1], post) end
if id then
  local outcome = start_sale(id, now, 'webhook', video, url)
  if outcome == 'live' and redis.call('HGET', ARGV[1] .. id, 'video_id') == '' then
    redis.call('HSET', ARGV[1] .. id, 'video_id', video)
  end
  return {id, outcome}
end
for _, live in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[6], '+inf')) do
  if redis.call('HGET', ARGV[1] .. live, 'video_id') == '' then
    redis.call('HSET', ARGV[1] .. live, 'video_id', video)
    redis.call('HSET', KEYS[1], video, live)
    return {live, 'attached'}
  end
end
local next_one = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[7], ARGV[8], 'LIMIT', 0, 1)[1]
if next_one then
  return {next_one, start_sale(next_one, now, 'webhook', video, url)}
end
local new_id = 'ls-' .. redis.call('INCR', KEYS[5])
redis.call('HSET', ARGV[1] .. new_id, 'id', new_id, 'title', ARGV[9], 'url', url, 'topic', ARGV[11],
           'status', 'scheduled', 'scheduled_ms', now, 'post_ids', post ~= '' and cjson.encode({post}) or '[]',
           'products', '[]', 'video_id', '', 'created_ms', now, 'started_ms', 0, 'ended_ms', 0, 'started_by', '')
redis.call('ZADD', KEYS[6], now, new_id)
if post ~= '' then redis.call('HSET', KEYS[1], post, new_id) end
local outcome = start_sale(new_id, now, 'webhook', video, url)
return {new_id, outcome == 'started' and 'created' or outcome}
"""

# "When is the next live?", read on every dialogue turn. next_sale(live index, scheduled index, the prefix of a
# sale's key, the earliest scheduled time that still counts): the sale started last if one is live, else the
# first one scheduled from that time on: {'live' | 'scheduled', its hash as HGETALL gives it}; nil if neither.
_NEXT_SALE_FUNCTION = """
local function next_sale(live_index, scheduled_index, prefix, since)
  local live = redis.call('ZREVRANGE', live_index, 0, 0)
  if live[1] then
    local sale = redis.call('HGETALL', prefix .. live[1])
    if #sale > 0 then return {'live', sale} end
  end
  local scheduled = redis.call('ZRANGEBYSCORE', scheduled_index, since, '+inf', 'LIMIT', 0, 1)
  if scheduled[1] then
    local sale = redis.call('HGETALL', prefix .. scheduled[1])
    if #sale > 0 then return {'scheduled', sale} end
  end
  return nil
end
"""
# KEYS[1] the live index, KEYS[2] the scheduled index. ARGV[1] the prefix of a sale's key, ARGV[2] the earliest
# scheduled time that still counts.
NEXT_SALE = _NEXT_SALE_FUNCTION + "return next_sale(KEYS[1], KEYS[2], ARGV[1], ARGV[2])\n"
# The same from the deployment clock's now less ARGV[2] ms (KEYS[3] the clock's offset): a read that needs no
# "now" from the caller, so a turn stages it with its other first reads (dialogue.facts).
NEXT_SALE_NOW = LUA_NOW + _NEXT_SALE_FUNCTION + \
    "return next_sale(KEYS[1], KEYS[2], ARGV[1], clock_now(KEYS[3]) - tonumber(ARGV[2]))\n"
