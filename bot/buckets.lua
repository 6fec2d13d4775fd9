-- Send limits, decided and taken in one atomic step (see bot/buckets.py).
-- clock_now(offset_key) comes from bot.clock.LUA_NOW, prepended when the script is loaded.
--
-- KEYS: 1 clock offset, 2 Page rate (GCRA theoretical arrival time, ms),
--       3 Page day budget ("day:count"), 4 token ("last_ms" or "last_ms:not_before_ms"),
--       5 shopper day ("day:count"), 6 the send job's record (field 'taken' = the route whose
--       limits the job holds). Unused slots get a placeholder key that is never written.
-- ARGV[1] is the mode: t = take, r = refund, d = defer a token, p = peek.
-- Take gets its numbers in ARGV[2] as "gap_ms:per_day:tz_minutes:interval_ms:burst:max_wait_ms:budget"
-- (0 = that limit is not checked; one argument because packing and parsing each costs the caller)
-- and the job's route in ARGV[3] ('' = not for a job), and replies "0:now:delay_ms" when allowed,
-- else "code:retry_after_ms" with code 1 frequency, 2 page_budget, 3 page_rate. Nothing is written
-- unless every limit passes. A job that already holds the route's limits (its worker died after the
-- take, another worker picked the job up) gets them again, with the first take's time, without
-- counting twice and without a rate slot.
-- TTLs run on Redis's own clock; the deployment clock only runs ahead of it (the sandbox
-- offset grows), so no key expires before the limit it records has passed.

local DAY = 86400000
local now = clock_now(KEYS[1])
local mode = ARGV[1]

local function split(v)
  local sep = string.find(v, ':', 1, true)
  if not sep then return tonumber(v), nil end
  return tonumber(string.sub(v, 1, sep - 1)), tonumber(string.sub(v, sep + 1))
end

local function count_on(v, day)
  if not v then return 0 end
  local d, n = split(v)
  if d ~= day then return 0 end
  return n
end

local function ready_at(v, gap)
  if not v then return 0 end
  local last, not_before = split(v)
  local ready = last + gap
  if not_before and not_before > ready then ready = not_before end
  return ready
end

local function day_of(tz_minutes)
  return math.floor((now + tz_minutes * 60000) / DAY)
end

if mode == 't' then
  local gap, per_day, tz, interval, burst, max_wait, budget = string.match(ARGV[2],
    '^(%d+):(%d+):(%-?%d+):([%d.]+):(%d+):(%d+):(%d+)$')
  if not budget then return redis.error_reply('send limits: bad take arguments') end
  gap, per_day, tz, interval = tonumber(gap), tonumber(per_day), tonumber(tz), tonumber(interval)
  local route = ARGV[3] or ''
  if route ~= '' then  -- 'taken' is "route@time of the take"
    local held = redis.call('HGET', KEYS[6], 'taken')
    if held and string.sub(held, 1, #route + 1) == route .. '@' then
      return '0:' .. string.sub(held, #route + 2) .. ':0'
    end
  end
  burst, max_wait, budget = tonumber(burst), tonumber(max_wait), tonumber(budget)
  local day = day_of(tz)
  local day_left = (day + 1) * DAY - tz * 60000 - now
  local v = redis.call('MGET', KEYS[4], KEYS[5], KEYS[3], KEYS[2])  -- one read for all four
  if gap > 0 then
    local ready = ready_at(v[1], gap)
    if ready > now then return '1:' .. string.format('%.0f', ready - now) end
  end
  local sent = 0
  if per_day > 0 then
    sent = count_on(v[2], day)
    if sent >= per_day then return '1:' .. string.format('%.0f', day_left) end
  end
  local spent = 0
  if budget > 0 then
    spent = count_on(v[3], day)
    if spent >= budget then return '2:' .. string.format('%.0f', day_left) end
  end
  local tat, delay = now, 0
  if interval > 0 then
    tat = tonumber(v[4] or '0')
    if tat < now then tat = now end
    delay = tat - (burst - 1) * interval - now
    if delay > max_wait then return '3:' .. string.format('%.0f', math.ceil(delay - max_wait)) end
    if delay < 0 then delay = 0 end
  end
  -- every limit passed: take them all
  local day_s = string.format('%.0f', day)
  if gap > 0 then redis.call('SET', KEYS[4], string.format('%.0f', now), 'PX', gap) end
  if per_day > 0 then redis.call('SET', KEYS[5], day_s .. ':' .. (sent + 1), 'PX', 2 * DAY) end
  if budget > 0 then redis.call('SET', KEYS[3], day_s .. ':' .. (spent + 1), 'PX', 2 * DAY) end
  if route ~= '' and redis.call('EXISTS', KEYS[6]) == 1 then redis.call('HSET', KEYS[6], 'taken', route .. '@' .. string.format('%.0f', now)) end
  if interval > 0 then
    tat = tat + interval
    redis.call('SET', KEYS[2], string.format('%.4f', tat), 'PX', math.ceil(tat - now) + 1000)
  end
  return '0:' .. string.format('%.0f', now) .. ':' .. string.format('%.0f', math.ceil(delay))

elseif mode == 'r' then
  -- ARGV: 2 the token value the take wrote ('' = none), 3 the day, 4 shopper flag, 5 budget flag,
  -- 6 what the job's record holds for this take ("route@time", '' = not for a job)
  if ARGV[2] ~= '' and redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
  if ARGV[6] ~= '' and redis.call('HGET', KEYS[6], 'taken') == ARGV[6] then redis.call('HDEL', KEYS[6], 'taken') end
  local day = tonumber(ARGV[3])
  local function give_back(key)
    local n = count_on(redis.call('GET', key), day)
    if n > 0 then redis.call('SET', key, string.format('%.0f', day) .. ':' .. (n - 1), 'KEEPTTL') end
  end
  if ARGV[4] == '1' then give_back(KEYS[5]) end
  if ARGV[5] == '1' then give_back(KEYS[3]) end
  return 1

elseif mode == 'd' then
  -- ARGV: 2 not-before time in ms (Meta's next eligible time)
  local not_before = tonumber(ARGV[2])
  if not_before <= now then return 0 end
  local v = redis.call('GET', KEYS[4])
  local last = 0
  if v then last = split(v) end
  local ttl = math.max(redis.call('PTTL', KEYS[4]), not_before - now)
  redis.call('SET', KEYS[4], string.format('%.0f', last) .. ':' .. ARGV[2], 'PX', ttl)
  return 1

elseif mode == 'p' then
  -- ARGV: 2 token gap ms, 3 tz minutes. Reply {now, token ready ms (0 = never taken),
  -- shopper sends today, Page sends today}
  local day = day_of(tonumber(ARGV[3]))
  local v = redis.call('MGET', KEYS[4], KEYS[5], KEYS[3])
  return {now, ready_at(v[1], tonumber(ARGV[2])), count_on(v[2], day), count_on(v[3], day)}
end
return redis.error_reply('unknown send-limit mode')
