-- Mark jobs `sending` just before their calls, and await their receipts from then on (bot/outbox.py).
-- clock_now(offset_key) comes from bot.clock.LUA_NOW, prepended when the script is loaded.
-- KEYS: 1 clock offset, then per job its record and its shopper's awaiting-receipt ZSET (the record
--       itself when nothing awaits a receipt).
-- ARGV: 1 the worker, 2 the receipt score's allowance for clock skew (ms), 3 the receipts' TTL,
--       4 the records' TTL, then per job its route (via) and its receipt member ('' for none).
-- A delivery or read webhook can arrive before the worker writes the outcome (Meta answers and
-- delivers in parallel): the member must be in place before the call, scored a little before it
-- since the watermark is Meta's clock. A job marked again (a resend, another route) keeps the member
-- it has, which may already be counted as delivered ("|d").
local now = clock_now(KEYS[1])
local score = now - tonumber(ARGV[2])
for i = 0, (#KEYS - 1) / 2 - 1 do
  local record, receipts = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local member = ARGV[6 + 2 * i]
  redis.call('HSET', record, 'state', 'sending', 'owner', ARGV[1], 'via', ARGV[5 + 2 * i])
  if redis.call('TTL', record) < 0 then redis.call('EXPIRE', record, ARGV[4]) end  -- a record Redis lost
  if member ~= '' and not redis.call('HGET', record, 'rcpt') then
    redis.call('ZADD', receipts, score, member)
    redis.call('EXPIRE', receipts, ARGV[3])
    redis.call('HSET', record, 'rcpt', member)
  end
end
return now
