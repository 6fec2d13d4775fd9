"""The Lua behind every change of a claim or of a lot's stock, so each is one atomic step.

The fairness rule (issue 12), in one function, ``walk(sale, lot, now)``, that every script
ends with: the lot's units go to its claims **in comment-time order** (Meta's ``created_time``;
equal times by comment id), strictly: the first claim that does not fit stops the line, and
everyone after it waits. A claim's answer is **settled** ``settle_ms`` after it arrived
(``CLAIM_SETTLE_MS``): until then it holds its place (units it would get are kept for it) but
is not answered, so a comment made earlier that arrives up to ``settle_ms`` later (another
worker, a webhook batch out of order) still goes ahead of it. Once settled it is answered and
never taken back: an earlier comment arriving later than that joins the waitlist in its
comment-time place. A walk reads the head of the line up to the first claim that does not fit
(at most units-left + 1 claims) and then only the lot's unsettled claims, so its cost does not
grow with the waitlist.

Hold and release: a claimed claim not paid within ``hold_ms`` (``CLAIM_HOLD_MINUTES``) is
released (reason ``hold_expired``) by the settle step, and its units go down the waitlist. A
waitlisted claim that gets units is told: if its waitlist answer is not queued yet, that one
private reply says claimed instead; else it gets a message by PSID, which only goes inside the
24-hour window (messenger-platform.md §4.1: the private reply did not open it, §3.8), so a
shopper outside it is released as ``unreachable`` and the next one is tried.

Numbers: each step counts what it did in the sale's ``ls:claim-numbers:<sale>`` hash, in the same
atomic step (``comments``, ``claimed``, ``waitlisted``, ``promoted``, ``released|<reason>``, ``paid``,
``cancelled``, ``duplicates``; :mod:`live_sales.claim_numbers` reads them), so the counts are never off by a crash.

Statuses: ``pending`` (not settled), ``claimed``, ``waitlisted``, ``released`` (``reason``:
``comment_deleted``, ``hold_expired``, ``unreachable``), ``paid``, ``cancelled`` (by the host).
``taken`` counts the units of ``claimed`` and ``paid`` claims and never exceeds the stock, so
what is left never goes below zero.

Every script takes ARGV[1] the Page's key prefix, ARGV[2] settle ms, ARGV[3] hold ms, then its own
arguments. Every key is the Page's (hash tag ``{page}``): KEYS carry the ones the call routes by,
the rest are built from the prefix (see :mod:`bot.scripts`), in the same slot.
"""

from __future__ import annotations

from bot.clock import LUA_NOW
from bot.policy import WINDOW_MS

_WALK = LUA_NOW + """
local P, SETTLE, HOLD = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local WINDOW_KEY = KEYS[#KEYS]  -- every script of the walk is given the Page's messaging windows last
local WINDOW_MS = """ + str(WINDOW_MS) + """

local function count(sale, what)  -- the sale's claim numbers (live_sales.claim_numbers)
  redis.call('HINCRBY', P .. 'ls:claim-numbers:' .. sale, what, 1)
end

local function release(key, id, reason, now)
  redis.call('HSET', key, 'status', 'released', 'reason', reason, 'changed_ms', now)
  redis.call('ZREM', P .. 'ls:claims-holds', id)
  count(redis.call('HGET', key, 'sale'), 'released|' .. reason)
end

local function grant(key, id, qty, lot, status, now)
  local sale = redis.call('HGET', key, 'sale')
  redis.call('HINCRBY', P .. 'ls:taken:' .. sale, lot, qty)
  count(sale, status == 'pending' and 'claimed' or 'promoted')
  redis.call('HSET', key, 'status', 'claimed', 'decided_ms', now)
  if HOLD > 0 then redis.call('ZADD', P .. 'ls:claims-holds', now + HOLD, id) end
  if status == 'pending' or redis.call('ZSCORE', P .. 'ls:claims-unanswered', id) then
    redis.call('HSET', key, 'answer', 'claimed')  -- its one private reply is not queued yet: it says so
  else
    redis.call('HSET', key, 'answer', 'promoted', 'promoted_ms', now)
  end
  redis.call('ZADD', P .. 'ls:claims-unanswered', now, id)
end

local function walk(sale, lot, now)
  local settle = SETTLE
  local lot_key = P .. 'ls:lot:' .. sale .. ':' .. lot
  local pending_key = P .. 'ls:lot-pending:' .. sale .. ':' .. lot
  local left = tonumber(redis.call('HGET', P .. 'ls:stock:' .. sale, lot) or '0')
             - tonumber(redis.call('HGET', P .. 'ls:taken:' .. sale, lot) or '0')
  local reserved, decided, kept, blocked = 0, 0, 0, false
  -- the head of the line, up to the first claim that does not fit: at most units-left + 1 claims
  while not blocked do
    local chunk = redis.call('ZRANGE', lot_key, kept, kept + 31)
    if #chunk == 0 then break end
    for _, id in ipairs(chunk) do
      local key = P .. 'ls:claim:' .. id
      local status, qty, arrived = unpack(redis.call('HMGET', key, 'status', 'quantity', 'arrived_ms'))
      qty = tonumber(qty)
      local reachable = true
      if qty <= left and status == 'waitlisted' and not redis.call('ZSCORE', P .. 'ls:claims-unanswered', id) then
        local last = tonumber(redis.call('HGET', WINDOW_KEY, redis.call('HGET', key, 'psid')) or '0')
        reachable = last > 0 and now - last < WINDOW_MS
      end
      if qty > left then blocked = true; break
      elseif not reachable then  -- a unit for them, but no way to tell them: the next one is tried
        redis.call('ZREM', lot_key, id)
        release(key, id, 'unreachable', now)
      elseif status == 'waitlisted' or tonumber(arrived) + settle <= now then
        left = left - qty
        redis.call('ZREM', lot_key, id)
        redis.call('ZREM', pending_key, id)
        redis.call('ZREM', P .. 'ls:claims-due', id)
        grant(key, id, qty, lot, status, now)
        decided = decided + 1
      else
        left = left - qty
        kept = kept + 1  -- not settled: its units are kept for it
        reserved = reserved + 1
      end
    end
  end
  if not blocked then return decided end
  -- the rest wait: each settled pending claim is waitlisted at its place behind those kept above
  for _, id in ipairs(redis.call('ZRANGE', pending_key, 0, -1)) do
    local key = P .. 'ls:claim:' .. id
    local arrived = tonumber(redis.call('HGET', key, 'arrived_ms'))
    if arrived + settle <= now then
      local position = redis.call('ZRANK', lot_key, id) + 1 - reserved
      redis.call('HSET', key, 'status', 'waitlisted', 'position', position, 'answer', 'waitlisted',
                 'decided_ms', now)
      count(sale, 'waitlisted')
      redis.call('ZREM', pending_key, id)
      redis.call('ZREM', P .. 'ls:claims-due', id)
      redis.call('ZADD', P .. 'ls:claims-unanswered', now, id)
      decided = decided + 1
    end
  end
  return decided
end
"""

# KEYS: the claim's hash, the sale's stock, the windows. ARGV[4..]: claim id, sale, code, variant, lot, quantity,
# commenter id, commenter name, comment ms, message, product title, the Instagram live it came under ('' = none).
# -> {outcome, status}: recorded (a new claim) | duplicate (this comment claimed before, or was
# deleted first) | unknown_lot (the sale has no such product or variant).
CLAIM = _WALK + """
local id, sale, lot, qty, comment_ms = ARGV[4], ARGV[5], ARGV[8], ARGV[9], ARGV[12]
local status = redis.call('HGET', KEYS[1], 'status')
if status then count(sale, 'duplicates'); return {'duplicate', status} end
if redis.call('HEXISTS', KEYS[2], lot) == 0 then return {'unknown_lot', ''} end
local now = clock_now(P .. 'clock:offset')
redis.call('HSET', KEYS[1], 'id', id, 'sale', sale, 'code', ARGV[6], 'variant', ARGV[7], 'lot', lot,
           'quantity', qty, 'psid', ARGV[10], 'name', ARGV[11], 'comment_ms', comment_ms, 'arrived_ms', now,
           'status', 'pending', 'message', ARGV[13], 'title', ARGV[14], 'answer', '', 'position', 0, 'reason', '',
           'live_media', ARGV[15])
redis.call('ZADD', P .. 'ls:lot:' .. sale .. ':' .. lot, comment_ms, id)
redis.call('ZADD', P .. 'ls:lot-pending:' .. sale .. ':' .. lot, comment_ms, id)
redis.call('ZADD', P .. 'ls:claims:' .. sale, comment_ms, id)
redis.call('ZADD', P .. 'ls:claims-due', now + SETTLE, id)
count(sale, 'comments')
walk(sale, lot, now)
return {'recorded', redis.call('HGET', KEYS[1], 'status')}
"""

# KEYS: claims-due, claims-holds, the windows. ARGV[4]: most claims to look at.
# Releases the claims whose hold ran out unpaid, then settles every lot that has a claim due or
# a unit freed; returns how many claims were answered or told.
SETTLE = _WALK + """
local now = clock_now(P .. 'clock:offset')
local limit = tonumber(ARGV[4])
local lots, decided = {}, 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local key = P .. 'ls:claim:' .. id
  local status, sale, lot, qty = unpack(redis.call('HMGET', key, 'status', 'sale', 'lot', 'quantity'))
  redis.call('ZREM', KEYS[2], id)
  if status == 'claimed' then
    redis.call('HINCRBY', P .. 'ls:taken:' .. sale, lot, -tonumber(qty))
    release(key, id, 'hold_expired', now)
    lots[sale .. '|' .. lot] = {sale, lot}
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  local sale, lot = unpack(redis.call('HMGET', P .. 'ls:claim:' .. id, 'sale', 'lot'))
  if not sale then
    redis.call('ZREM', KEYS[1], id)
  else
    lots[sale .. '|' .. lot] = {sale, lot}
  end
end
for _, found in pairs(lots) do
  decided = decided + walk(found[1], found[2], now)
end
return decided
"""

# KEYS: the claim's hash, the windows. ARGV[4..]: claim id, to (released | cancelled | paid).
# released: the comment was deleted (a claim not seen yet is recorded released, so its comment's
# late add claims nothing); cancelled: by the host, also a paid one; paid: only a claimed one.
# Units a released or cancelled claim held go to the lot's next claims at once.
# -> {outcome, status before}: changed | already (it has that status) | refused | unknown.
CHANGE = _WALK + """
local id, to = ARGV[4], ARGV[5]
local now = clock_now(P .. 'clock:offset')
local status, sale, lot, qty = unpack(redis.call('HMGET', KEYS[1], 'status', 'sale', 'lot', 'quantity'))
if not status then
  if to ~= 'released' then return {'unknown', ''} end
  redis.call('HSET', KEYS[1], 'id', id, 'status', 'released', 'reason', 'comment_deleted', 'decided_ms', now)
  redis.call('EXPIRE', KEYS[1], 7 * 24 * 3600)
  return {'changed', ''}
end
if status == to then return {'already', status} end
if status == 'released' or status == 'cancelled' then return {'refused', status} end
if to == 'paid' and status ~= 'claimed' then return {'refused', status} end
if to == 'released' and status == 'paid' then return {'refused', status} end
redis.call('HSET', KEYS[1], 'status', to, 'changed_ms', now)
redis.call('ZREM', P .. 'ls:claims-holds', id)
if to == 'released' then redis.call('HSET', KEYS[1], 'reason', 'comment_deleted') end
if to == 'cancelled' then redis.call('HSET', KEYS[1], 'reason', 'host') end
count(sale, to == 'released' and 'released|comment_deleted' or to)
if to == 'paid' then return {'changed', status} end
if status == 'claimed' or status == 'paid' then
  redis.call('HINCRBY', P .. 'ls:taken:' .. sale, lot, -tonumber(qty))
else
  redis.call('ZREM', P .. 'ls:lot:' .. sale .. ':' .. lot, id)
  redis.call('ZREM', P .. 'ls:lot-pending:' .. sale .. ':' .. lot, id)
  redis.call('ZREM', P .. 'ls:claims-due', id)
end
walk(sale, lot, now)
return {'changed', status}
"""

# KEYS: the sale's stock, the sale's taken, the windows. ARGV[4..]: sale, lot, new stock.
# -> {outcome, taken}: set | below_taken (more units are held than the new stock) | unknown_lot.
SET_STOCK = _WALK + """
local sale, lot, stock = ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('HEXISTS', KEYS[1], lot) == 0 then return {'unknown_lot', 0} end
local taken = tonumber(redis.call('HGET', KEYS[2], lot) or '0')
if stock < taken then return {'below_taken', taken} end
redis.call('HSET', KEYS[1], lot, stock)
walk(sale, lot, clock_now(P .. 'clock:offset'))
return {'set', taken}
"""

# KEYS: the sale's products, the sale's stock. ARGV[2..]: then per product: code, JSON, lot count,
# then lot, units for each. All or nothing: -> {'added', n} | {'exists', code}.
ADD_PRODUCTS = """
local i = 2
local products = {}
while i <= #ARGV do
  local code, json, lots = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if redis.call('HEXISTS', KEYS[1], code) == 1 then return {'exists', code} end
  products[#products + 1] = {code, json, i + 3, lots}
  i = i + 3 + 2 * lots
end
for _, p in ipairs(products) do
  redis.call('HSET', KEYS[1], p[1], p[2])
  for j = 0, p[4] - 1 do
    redis.call('HSET', KEYS[2], ARGV[p[3] + 2 * j], ARGV[p[3] + 2 * j + 1])
  end
end
return {'added', #products}
"""
