-- The Page's send pause and slowdown (bot/throttle.py), one hash shared by every send worker.
-- clock_now(offset_key) comes from bot.clock.LUA_NOW, prepended when the script is loaded.
-- KEYS: 1 clock offset, 2 the throttle hash, 3 the reply lane's stream, 4 its delayed ZSET, 5 the
--       campaign lane's delayed ZSET.
-- ARGV[1] is the mode; every mode replies {now, until, kind, level, slow_until, verdict}.
--
-- 't' Meta throttled a call. ARGV: 2 Meta's estimate in ms (0 = none), 3 base pause ms, 4 longest
--     pause ms, 5 '1' if the call was a probe, 6 jitter factor, 7 how long the level outlives the pause.
--     A throttle outside a pause starts a longer pause than the one before (base doubled per level);
--     a throttled probe keeps the pause going (at least one more pause of this level from now), and so
--     does a call made before the pause was known (unless Meta asks for longer).
-- 'l' A call succeeded: a throttle pause ends and the level drops to 0 (a usage pause keeps its time);
--     the jobs that waited for the pause to end (delayed up to its end) are due at once, in their order.
-- 'g' May a call go during a pause? ARGV: 2 '1' for a reply, 3 the probe interval ms. Verdict 'go'
--     (no pause), 'probe' (this call is the Page's one probe of the interval) or 'wait'. A campaign
--     send probes only while no reply is waiting (in the reply stream or its delayed ZSET).
-- 'u' A usage header near the limit. ARGV: 2 slow for this many ms (0 = no), 3 pause this many ms
--     (0 = no), 4 how long the level outlives the pause.
local now = clock_now(KEYS[1])
local mode = ARGV[1]
local t = redis.call('HMGET', KEYS[2], 'until', 'kind', 'level', 'probe', 'slow_until')
local ends, kind, level = tonumber(t[1] or '0'), t[2] or '', tonumber(t[3] or '0')
local probe, slow = tonumber(t[4] or '0'), tonumber(t[5] or '0')
local paused = ends > now
local verdict = ''

local function keep(extra_ms)
  local last = math.max(ends, slow, now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(last - now + extra_ms))
end

if mode == 't' then
  local estimate = tonumber(ARGV[2])
  local throttled = paused and kind == 'throttle'
  if not throttled then level = level + 1 end
  local wait = estimate
  if wait <= 0 then
    wait = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (level - 1)) * tonumber(ARGV[6])
  end
  if not throttled or ARGV[5] == '1' or estimate > 0 then
    ends = math.max(throttled and ends or 0, now + wait)
  end
  kind = 'throttle'
  redis.call('HSET', KEYS[2], 'until', string.format('%.0f', ends), 'kind', kind, 'level', level)
  keep(tonumber(ARGV[7]))
elseif mode == 'l' then
  if kind == 'throttle' then
    if paused then  -- what waited for this pause to end goes now: every due time moves earlier by what
      -- was left of the pause, so the jobs keep their order (a shopper's replies, one behind the other)
      local early = string.format('%.0f', now - ends)
      for _, zset in ipairs({KEYS[4], KEYS[5]}) do  -- (a throttled job's retry has up to 200 ms of jitter)
        for _, member in ipairs(redis.call('ZRANGEBYSCORE', zset, now, ends + 1000)) do
          redis.call('ZINCRBY', zset, early, member)
        end
      end
    end
    redis.call('HDEL', KEYS[2], 'until', 'kind', 'probe')
    ends, kind = 0, ''
  end
  redis.call('HDEL', KEYS[2], 'level')
  level = 0
elseif mode == 'g' then
  if not paused then
    verdict = 'go'
  elseif kind ~= 'throttle' or now - probe < tonumber(ARGV[3]) then
    verdict = 'wait'
  elseif ARGV[2] ~= '1' and (redis.call('XLEN', KEYS[3]) > 0 or redis.call('ZCARD', KEYS[4]) > 0) then
    verdict = 'wait'
  else
    redis.call('HSET', KEYS[2], 'probe', now)
    verdict = 'probe'
  end
elseif mode == 'u' then
  local slow_ms, pause_ms = tonumber(ARGV[2]), tonumber(ARGV[3])
  if slow_ms > 0 and now + slow_ms > slow then
    slow = now + slow_ms
    redis.call('HSET', KEYS[2], 'slow_until', string.format('%.0f', slow))
  end
  if pause_ms > 0 and not (paused and kind == 'throttle') and now + pause_ms > ends then
    ends, kind = now + pause_ms, 'usage'
    redis.call('HSET', KEYS[2], 'until', string.format('%.0f', ends), 'kind', kind)
  end
  keep(tonumber(ARGV[4]))
else
  return redis.error_reply('unknown throttle mode')
end
return {now, string.format('%.0f', ends), kind, level, string.format('%.0f', slow), verdict}
