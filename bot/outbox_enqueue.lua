-- Queue send jobs, each once (bot/outbox.py Outbox.enqueue_many).
-- KEYS: 1 the reply lane's stream, 2 the campaign lane's stream, then per job its record, its
--       campaign's numbers (KEYS[1] when it has no campaign) and its recipient's last-reply marker
--       (KEYS[1] when it has none: campaign jobs and private replies are not chained).
-- ARGV: 1 the record TTL, 2 the marker TTL, then per job its lane ('r' or 'c'), its id, its JSON and
--       its campaign's `queued` field under the job's channel (bot/channel_numbers.py: ch|<channel>|queued).
-- Returns how many were queued now (a job id queued before is not queued again).
--
-- A reply-lane job to a shopper names on its record ('after') the shopper's reply queued just
-- before it, so it is sent after that one's outcome even when another batch or worker holds it:
-- replies to consecutive messages arrive in order across any number of send workers.
local queued = 0
for i = 1, (#KEYS - 2) / 3 do
  local record, stats, last = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local a = 4 * i - 1
  if redis.call('HSETNX', record, 'state', 'queued') == 1 then
    if last ~= KEYS[1] then
      local before = redis.call('GET', last)
      if before then redis.call('HSET', record, 'after', before) end
      redis.call('SET', last, ARGV[a + 1], 'EX', ARGV[2])
    end
    redis.call('EXPIRE', record, ARGV[1])
    local stream = KEYS[1]
    if ARGV[a] == 'c' then stream = KEYS[2] end
    redis.call('XADD', stream, '*', 'j', ARGV[a + 2])
    if stats ~= KEYS[1] then
      redis.call('HINCRBY', stats, 'queued', 1)
      redis.call('HINCRBY', stats, ARGV[a + 3], 1)
    end
    queued = queued + 1
  end
end
return queued
