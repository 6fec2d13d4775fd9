-- Mark jobs `sending` just before their calls, and await their receipts from then on (bot/outbox.py).
-- clock_now(offset_key) comes from bot.clock.LUA_NOW, prepended when the script is loaded.
-- KEYS: 1 clock offset, then per job its record and its shopper's awaiting-receipt ZSET (the record
--       itself when nothing awaits a receipt).
-- ARGV: 1 the worker, 2 the receipt score's allowance for clock skew (ms), 3 the receipts' TTL,
--       4 the records' TTL, then per job its route (via), its receipt member ('' for none) and the
--       record's owner and sent_at as the worker loaded them ("owner|sent_at", "|0" for no mark yet).
-- Fenced: a job is marked only if no other mark came since the worker loaded its record (owner and
-- sent_at unchanged) and it is not finished or waiting in a delayed ZSET. Two workers holding the
-- same entry (one reclaimed it from the other, alive but slow: starved, or late back from a Redis
-- outage) may both have loaded it; only the first mark wins, the other worker leaves the job alone.
-- Returns {now, the 1-based positions of the jobs not marked}.
-- A delivery or read webhook can arrive before the worker writes the outcome (Meta answers and
-- delivers in parallel): the member must be in place before the call, scored a little before it
-- since the watermark is Meta's clock. A job marked again (a resend, another route) keeps the member
-- it has, which may already be counted as delivered ("|d").
local now = clock_now(KEYS[1])
local score = now - tonumber(ARGV[2])
local DONE_OR_WAITING = {sent = true, skipped = true, failed = true, delayed = true}
local result = {now}  -- then the positions of the jobs not marked
for i = 0, (#KEYS - 1) / 2 - 1 do
  local record, receipts = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local member = ARGV[6 + 3 * i]
  local seen_owner, seen_at = string.match(ARGV[7 + 3 * i], '^(.*)|(%d+)$')
  local state, owner, sent_at = unpack(redis.call('HMGET', record, 'state', 'owner', 'sent_at'))
  if DONE_OR_WAITING[state or ''] or (owner or '') ~= seen_owner or tonumber(sent_at or '0') ~= tonumber(seen_at) then
    result[#result + 1] = i + 1
  else
    redis.call('HSET', record, 'state', 'sending', 'owner', ARGV[1], 'via', ARGV[5 + 3 * i], 'sent_at', now)
    if redis.call('TTL', record) < 0 then redis.call('EXPIRE', record, ARGV[4]) end  -- a record Redis lost
    if member ~= '' and not redis.call('HGET', record, 'rcpt') then
      redis.call('ZADD', receipts, score, member)
      redis.call('EXPIRE', receipts, ARGV[3])
      redis.call('HSET', record, 'rcpt', member)
    end
  end
end
return result
