-- Write what became of send jobs and acknowledge their stream entries, in one step (bot/outbox.py).
-- clock_now(offset_key) comes from bot.clock.LUA_NOW, prepended when the script is loaded.
-- KEYS: 1 the day's numbers, 2 the counters, 3 clock offset, 4 reply stream, 5 campaign stream,
--       6 reply delayed ZSET, 7 campaign delayed ZSET; then per item its record, its campaign's
--       numbers (KEYS[1] when it has none), its shopper's awaiting-receipt ZSET, its shopper's
--       opt-in requests hash and its comment's replied mark (each KEYS[1] when not needed).
-- ARGV: 1 record TTL, 2 receipt TTL, 3 day TTL, 4 receipt score for a sent job with no member yet,
--       5 the consumer group; then 16 per item:
--   kind ('o' outcome, 'd' delay, 'a' acknowledge only), lane ('r' or 'c'), entry id ('' for none), job id,
--   for 'o': state, via, message_id, reason, code, numbers field, counter field, receipt member,
--            failed attempts ('0': leave as is), opt-in request title to mark asked ('' = none),
--            '1' to mark the comment replied, the numbers field under the job's channel
--            (bot/channel_numbers.py: ch|<channel>|<numbers field>);
--   for 'd': job JSON, delay ms, failed attempts, first failure ms (0 = now, -1 = none: the job did not
--            fail, it waits for the Page or the part before it), the record's `delays` when the job
--            was loaded, a job to stay behind ('' = none), reason, then blanks.
-- Each item is written once: an outcome over a final record, or a delay whose `delays` moved on
-- (the same write retried after its answer was lost), changes nothing and counts nothing, so the
-- caller may repeat a write it is unsure of until Redis answers.
local now = clock_now(KEYS[3])
local FINAL = {sent = true, skipped = true, failed = true}
local n = (#KEYS - 7) / 5
for i = 0, n - 1 do
  local k = 8 + 5 * i
  local record, campaign, receipts, asked, replied = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = 5 + 16 * i
  local kind, lane, entry, job = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local stream, delayed = KEYS[4], KEYS[6]
  if lane == 'c' then stream, delayed = KEYS[5], KEYS[7] end
  local state = redis.call('HGET', record, 'state')
  local held = redis.call('HGET', record, 'rcpt')
  local function forget_receipt()
    if held then
      redis.call('ZREM', receipts, held, string.sub(held, 1, -2) .. 'd')
      redis.call('HDEL', record, 'rcpt')
    end
  end
  -- a record missing altogether (Redis came back empty) is written anew: its job must not go twice
  if kind == 'o' and not FINAL[state or ''] then
    local outcome = ARGV[a + 5]
    redis.call('HSET', record, 'state', outcome, 'via', ARGV[a + 6], 'message_id', ARGV[a + 7],
               'reason', ARGV[a + 8], 'code', ARGV[a + 9])
    if ARGV[a + 13] ~= '0' then redis.call('HSET', record, 'attempts', ARGV[a + 13]) end
    if outcome == 'sent' then
      if not held and ARGV[a + 12] ~= '' then
        redis.call('ZADD', receipts, ARGV[4], ARGV[a + 12])
        redis.call('EXPIRE', receipts, ARGV[2])
      end
      if ARGV[a + 14] ~= '' then redis.call('HSET', asked, ARGV[a + 14], string.format('%.0f', now)) end
      if ARGV[a + 15] == '1' then redis.call('SET', replied, '1', 'EX', ARGV[1]) end
    else
      forget_receipt()
    end
    -- only needed while sending or waiting; the record stays a week
    redis.call('HDEL', record, 'owner', 'taken', 'otn', 'rcpt', 'job', 'delays', 'after', 'sent_at')
    redis.call('EXPIRE', record, ARGV[1])
    if campaign ~= KEYS[1] then
      redis.call('HINCRBY', campaign, ARGV[a + 10], 1)
      redis.call('HINCRBY', campaign, ARGV[a + 16], 1)
    end
    redis.call('HINCRBY', KEYS[1], ARGV[a + 10], 1)
    redis.call('HINCRBY', KEYS[1], ARGV[a + 16], 1)
    redis.call('HINCRBY', KEYS[2], ARGV[a + 11], 1)
  elseif kind == 'd' and not FINAL[state or '']
      and (not state or tonumber(redis.call('HGET', record, 'delays') or '0') == tonumber(ARGV[a + 9])) then
    local due = now + tonumber(ARGV[a + 6])
    local behind = ARGV[a + 10]
    if behind ~= '' then
      local before = redis.call('ZSCORE', delayed, behind)
      if before and tonumber(before) + 1 > due then due = tonumber(before) + 1 end
    end
    redis.call('HSET', record, 'state', 'delayed', 'job', ARGV[a + 5], 'attempts', ARGV[a + 7])
    local since = tonumber(ARGV[a + 8])
    if since == 0 then since = tonumber(redis.call('HGET', record, 'failed_since') or '0') end
    if since == 0 then since = now end
    if since > 0 then redis.call('HSET', record, 'failed_since', string.format('%.0f', since)) end
    redis.call('HINCRBY', record, 'delays', 1)
    redis.call('HDEL', record, 'owner')
    redis.call('EXPIRE', record, ARGV[1])
    forget_receipt()
    redis.call('ZADD', delayed, due, job)
    redis.call('HINCRBY', KEYS[2], 'send_retries_total|' .. ARGV[a + 11], 1)
  end
  if entry ~= '' then
    redis.pcall('XACK', stream, ARGV[5], entry)  -- pcall: a group lost with the stream has nothing to ack
    redis.call('XDEL', stream, entry)
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
