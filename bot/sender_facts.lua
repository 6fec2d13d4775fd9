-- Everything the send worker needs about a batch of jobs, in one call and one reply.
-- KEYS: clock offset, window, opted-out, unreachable, regions; then per job 7 keys:
--   record, echo, opt-in asked (hash), private replied, cancelled, subscribers(topic), otn(topic)
-- ARGV: per job psid, title.
-- The regions hash holds <psid>|<field> for each field of bot/shopper_regions.py FIELDS (listed below).
-- Reply: {now_ms, one string per job: fields joined by \31 (unit separator)}
-- Per job: record state, via, owner, attempts, failed_since, delays, after, sent_at, echo, then the policy
-- facts.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  + (tonumber(redis.call('GET', KEYS[1]) or '0') or 0)
local out = {tostring(now)}
local n = (#KEYS - 5) / 7
local REGION = {'tz', 'country', 'looked', 'refused:otn', 'refused:marketing_api', 'refused:marketing_legacy'}
local function s(v) if v then return tostring(v) else return '' end end
for i = 0, n - 1 do
  local k = 6 + 7 * i
  local psid, title = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local rec = redis.call('HMGET', KEYS[k], 'state', 'via', 'otn', 'owner', 'attempts', 'failed_since', 'delays',
                        'after', 'sent_at')
  local otn = s(redis.call('HGET', KEYS[k + 6], psid))
  if rec[3] then otn = rec[3] .. ' ' .. otn end  -- a token this job already popped (its worker died) is its own
  local fields = {}
  for j, name in ipairs(REGION) do fields[j] = psid .. '|' .. name end
  local region = redis.call('HMGET', KEYS[5], unpack(fields))
  for j = 1, #REGION do region[j] = s(region[j]) end
  out[#out + 1] = table.concat({
    s(rec[1]), s(rec[2]), s(rec[4]), s(rec[5]), s(rec[6]), s(rec[7]), s(rec[8]), s(rec[9]),
    s(redis.call('GET', KEYS[k + 1])),
    s(redis.call('HGET', KEYS[2], psid)),
    s(redis.call('HGET', KEYS[k + 2], title)),
    tostring(redis.call('EXISTS', KEYS[k + 3])),
    tostring(redis.call('EXISTS', KEYS[k + 4])),
    s(redis.call('HGET', KEYS[k + 5], psid)),
    otn,
    tostring(redis.call('SISMEMBER', KEYS[3], psid)),
    tostring(redis.call('HEXISTS', KEYS[4], psid)),
    table.concat(region, '\31'),
  }, '\31')
end
return out
