-- Queue send jobs, each once (bot/outbox.py Outbox.enqueue_many; and, inside a consumer's completing step,
-- bot/queues.lua's `complete`, whose source starts with this file's).
-- enqueue_jobs(keys, k, argv, a, n) reads, from keys[k + 1]: 1 the reply lane's stream, 2 the campaign lane's
--   stream, then per job its record, its campaign's numbers (the reply stream's key when it has no campaign)
--   and its recipient's last-reply marker (the same when it has none: campaign jobs and private replies
--   are not chained); from argv[a + 1]: 1 the record TTL, 2 the marker TTL, then per job its lane ('r' or
--   'c'), its id, its JSON and its campaign's `queued` field under the job's channel
--   (bot/channel_numbers.py: ch|<channel>|queued). n: the number of jobs.
-- Returns how many were queued now (a job id queued before is not queued again).
--
-- A reply-lane job to a shopper names on its record ('after') the shopper's reply queued just
-- before it, so it is sent after that one's outcome even when another batch or worker holds it:
-- replies to consecutive messages arrive in order across any number of send workers.
local function enqueue_jobs(keys, k, argv, a, n)
  local queued = 0
  local replies, campaigns = keys[k + 1], keys[k + 2]
  for i = 1, n do
    local record, stats, last = keys[k + 3 * i], keys[k + 3 * i + 1], keys[k + 3 * i + 2]
    local at = a + 4 * i - 1
    if redis.call('HSETNX', record, 'state', 'queued') == 1 then
      if last ~= replies then
        local before = redis.call('GET', last)
        if before then redis.call('HSET', record, 'after', before) end
        redis.call('SET', last, argv[at + 1], 'EX', argv[a + 2])
      end
      redis.call('EXPIRE', record, argv[a + 1])
      local stream = replies
      if argv[at] == 'c' then stream = campaigns end
      redis.call('XADD', stream, '*', 'j', argv[at + 2])
      if stats ~= replies then
        redis.call('HINCRBY', stats, 'queued', 1)
        redis.call('HINCRBY', stats, argv[at + 3], 1)
      end
      queued = queued + 1
    end
  end
  return queued
end
