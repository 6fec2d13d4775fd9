-- The delayed send jobs of a Page (bot/send_retry.py). clock_now(offset_key) from bot.clock.LUA_NOW.
-- ARGV[1] is the mode.
--
-- 'p' (poll), KEYS: 1 clock offset, 2 reply delayed ZSET, 3 campaign delayed ZSET, 4 the Page's
--   throttle hash. ARGV: 2 how many due ids at most per lane. Reply: {now, until, kind, level,
--   slow_until, earliest due (-1 = none), number of reply ids, reply ids..., campaign ids...}.
--
-- 'm' (move), KEYS: 1 clock offset, 2 reply delayed, 3 campaign delayed, 4 reply stream,
--   5 campaign stream, then per job its record. ARGV: then per job its lane ('r' or 'c') and id.
--   Each due job goes back to its lane's stream, its record from `delayed` to `queued`, and out of
--   the ZSET, in one step: a job is in exactly one place, whoever runs this and whenever it dies.
local now = clock_now(KEYS[1])
local mode = ARGV[1]

if mode == 'p' then
  local limit = tonumber(ARGV[2])
  local replies = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
  local campaigns = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
  local earliest = -1
  for _, zset in ipairs({KEYS[2], KEYS[3]}) do
    local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
    if first[2] and (earliest < 0 or tonumber(first[2]) < earliest) then earliest = tonumber(first[2]) end
  end
  local t = redis.call('HMGET', KEYS[4], 'until', 'kind', 'level', 'slow_until')
  local out = {now, t[1] or '0', t[2] or '', t[3] or '0', t[4] or '0', string.format('%.0f', earliest), #replies}
  for _, id in ipairs(replies) do out[#out + 1] = id end
  for _, id in ipairs(campaigns) do out[#out + 1] = id end
  return out

elseif mode == 'm' then
  local moved = 0
  for i = 6, #KEYS do
    local lane, id = ARGV[2 * (i - 6) + 2], ARGV[2 * (i - 6) + 3]
    local delayed, stream = KEYS[2], KEYS[4]
    if lane == 'c' then delayed, stream = KEYS[3], KEYS[5] end
    local due = redis.call('ZSCORE', delayed, id)
    if due and tonumber(due) <= now then
      local r = redis.call('HMGET', KEYS[i], 'state', 'job')
      if r[1] == 'delayed' and r[2] then
        redis.call('XADD', stream, '*', 'j', r[2])
        redis.call('HSET', KEYS[i], 'state', 'queued')
        redis.call('HDEL', KEYS[i], 'job')
        moved = moved + 1
      end
      redis.call('ZREM', delayed, id)
    end
  end
  return moved
end
return redis.error_reply('unknown delayed-job mode')
