-- One Graph API send, decided and recorded atomically (bot/sandbox/store.py runs it).
-- Prepended at load time: clock_now(offset_key) from bot/clock.py (LUA_NOW).
--
-- KEYS[1] config hash, KEYS[2] clock offset, KEYS[3] sent log
-- ARGV[1]  sandbox key prefix (bot/sandbox/keys.py SandboxKeys.sandbox_prefix; suffixes below mirror its builders)
-- ARGV[2]  recipient kind: psid | comment | nmt | otn | mm
-- ARGV[3]  address: PSID, comment id or token
-- ARGV[4]  mode: message | action
-- ARGV[5]  stored rule: window (24 h) | human (7 days) | none
-- ARGV[6]  opt-in request title, '' when the message is not an opt-in card
-- ARGV[7]  opt-in request record: JSON object without its closing brace
-- ARGV[8]  inbox entry: JSON object without its closing brace
-- ARGV[9]  sent-log record: JSON object without its closing brace
-- ARGV[10] message id
-- ARGV[11] default Page rate limit (calls per second, 0 = none)
-- ARGV[12] min_conversation_gap in ms (marketing API), 0 = none
-- ARGV[13] the sender's metadata, echoed back with the receipt
-- ARGV[14] a psid recipient's channel: messenger | instagram (the endpoint the call came in on)
-- ARGV[15] our app id, when the thread must be ours (me/messages); '' = no thread check
-- Returns "outcome psid now_ms calls limit" (one string: one reply line to parse per send).

local P, kind, address, mode, rule = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local HOUR = 3600000
local DAY = 24 * HOUR
local now = clock_now(KEYS[2])
local cfg = redis.call('HMGET', KEYS[1], 'page_rate_limit', 'receipts', 'sent_log')
local limit = tonumber(cfg[1]) or tonumber(ARGV[11])
local calls = 0

local function finish(outcome, psid)
  if cfg[3] ~= '0' then
    local record = ARGV[9] .. ',"at_ms":' .. now .. ',"outcome":"' .. outcome .. '"'
    if psid then record = record .. ',"recipient_id":' .. cjson.encode(psid) end
    redis.call('RPUSH', KEYS[3], record .. '}')
  end
  return outcome .. ' ' .. (psid or '-') .. ' ' .. now .. ' ' .. calls .. ' ' .. limit
end

if kind == 'psid' then
  -- checked before the rate count, as Meta refuses these without sending (§2.11, §9): a shopper of the
  -- other channel is no user here, and a thread another app (the Page Inbox) owns is not ours to send into
  local r = redis.call('HMGET', P .. 'shopper:' .. address, 'channel', 'thread_owner')
  if (r[1] == 'instagram') ~= (ARGV[14] == 'instagram') then return finish('no_user') end
  if ARGV[15] ~= '' and r[2] and string.match(r[2], '^%d+$') and tonumber(r[2]) ~= tonumber(ARGV[15]) then
    return finish('thread_controlled')
  end
end

if limit > 0 then
  local rate_key = P .. 'rate:' .. math.floor(now / 1000)
  calls = redis.call('INCR', rate_key)
  if calls == 1 then redis.call('PEXPIRE', rate_key, 5000) end
  if calls > limit then return finish('rate') end
end

local psid, record_key, title
if kind == 'psid' then
  psid = address
  if redis.call('EXISTS', P .. 'shopper:' .. psid) == 0 then return finish('no_user') end
elseif kind == 'comment' then
  record_key = P .. 'comment:' .. address
  local c = redis.call('HMGET', record_key, 'psid', 'created_ms', 'replied')
  if not c[1] then return finish('comment_unknown') end
  psid = c[1]
  if c[3] then return finish('comment_replied', psid) end
  if now - tonumber(c[2]) > 7 * DAY then return finish('comment_old', psid) end
elseif kind == 'nmt' or kind == 'mm' then
  record_key = P .. 'nmt:' .. address
  local field = (kind == 'nmt') and 'last_legacy_ms' or 'last_mm_ms'
  local t = redis.call('HMGET', record_key, 'psid', 'stopped', field, 'title')
  if not t[1] then return finish(kind .. '_unknown') end
  psid, title = t[1], t[4]
  if t[2] == '1' then return finish(kind .. '_stopped', psid) end
  local gap = (kind == 'nmt') and 48 * HOUR or 12 * HOUR
  if t[3] and now - tonumber(t[3]) < gap then return finish(kind .. '_freq', psid) end
elseif kind == 'otn' then
  record_key = P .. 'otn:' .. address
  local t = redis.call('HMGET', record_key, 'psid', 'created_ms', 'used_ms', 'title')
  if not t[1] then return finish('otn_unknown') end
  psid, title = t[1], t[4]
  if t[3] then return finish('otn_used', psid) end
  if now - tonumber(t[2]) > 365 * DAY then return finish('otn_expired', psid) end
end

local shopper = redis.call('HMGET', P .. 'shopper:' .. psid, 'last_action_ms', 'blocked')
if shopper[2] == '1' then return finish('blocked', psid) end
local last = tonumber(shopper[1]) or 0
if rule == 'window' and now - last >= DAY then return finish('window', psid) end
if rule == 'human' and now - last >= 7 * DAY then return finish('window', psid) end
local gap_ms = tonumber(ARGV[12]) or 0
if gap_ms > 0 and now - last < gap_ms then return finish('mm_gap', psid) end

if ARGV[6] ~= '' then
  -- opt-in cards: inside the window only, once a week per title per shopper
  if now - last >= DAY then return finish('window', psid) end
  local requests = P .. 'optreq:' .. psid
  local previous = redis.call('HGET', requests, ARGV[6])
  local at = previous and tonumber(string.match(previous, '"at_ms":(%d+)}$'))
  if at and now - at < 7 * DAY then return finish('optin_weekly', psid) end
  redis.call('HSET', requests, ARGV[6], ARGV[7] .. ',"at_ms":' .. now .. '}')
end

if kind == 'comment' then redis.call('HSET', record_key, 'replied', now)
elseif kind == 'nmt' then redis.call('HSET', record_key, 'last_legacy_ms', now)
elseif kind == 'mm' then redis.call('HSET', record_key, 'last_mm_ms', now)
elseif kind == 'otn' then redis.call('HSET', record_key, 'used_ms', now) end

if mode == 'message' then
  local entry = ARGV[8] .. ',"timestamp":' .. now
  if title then entry = entry .. ',"notification":{"title":' .. cjson.encode(title) .. '}' end
  redis.call('RPUSH', P .. 'inbox:' .. psid, entry .. '}')
  if cfg[2] ~= '0' then redis.call('RPUSH', P .. 'receipts', psid .. ' ' .. now .. ' ' .. ARGV[10] .. ' ' .. (ARGV[13] or '')) end
end
return finish('ok', psid)
