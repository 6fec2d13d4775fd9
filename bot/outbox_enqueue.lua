-- Queue send jobs, each once (bot/outbox.py Outbox.enqueue_many).
-- KEYS: 1 the reply lane's stream, 2 the campaign lane's stream, then per job its record and its
--       campaign's numbers (KEYS[1] when it has no campaign).
-- ARGV: 1 the record TTL, then per job its lane ('r' or 'c') and its JSON.
-- Returns how many were queued now (a job id queued before is not queued again).
local queued = 0
for i = 1, (#KEYS - 2) / 2 do
  local record, stats = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  if redis.call('HSETNX', record, 'state', 'queued') == 1 then
    redis.call('EXPIRE', record, ARGV[1])
    local stream = KEYS[1]
    if ARGV[2 * i] == 'c' then stream = KEYS[2] end
    redis.call('XADD', stream, '*', 'j', ARGV[2 * i + 1])
    if stats ~= KEYS[1] then redis.call('HINCRBY', stats, 'queued', 1) end
    queued = queued + 1
  end
end
return queued
