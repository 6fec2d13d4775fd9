-- Per-shopper queues: one Redis list per ordering key, a "ready" ZSET of keys
-- with pending events and no lease, and leases (ZSET by expiry, HASH owner).
-- Lease times use raw Redis TIME, never the sandbox clock offset: moving the
-- sandbox clock must not expire leases.

local function real_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Items are stored as "<item id> <json>": the id (the inbox entry id and the item's place in it)
-- lets `complete` pop exactly the item that was handled, so a retried complete never pops the next one.

-- enqueue pairs of (seen, queue) keys from KEYS[first], four ARGV per event from ARGV[first_arg]: okey,
-- payload, and the shopper and ms of the window the event opens ('' and 0: none, bot/window.py).
-- Queues the events not seen before (by dedupe mark), raising the window of each that opens one
-- (and clearing the shopper's unreachable mark) in the same step. Returns how many were new.
local function enqueue_from(keys, first, argv, first_arg, ready, ttl, window, unreachable)
  local now = real_now()
  local added = 0
  local n = (#keys - first + 1) / 2
  for i = 0, n - 1 do
    local seen, queue = keys[first + 2 * i], keys[first + 2 * i + 1]
    local a = first_arg + 4 * i
    local okey, payload, shopper, opened = argv[a], argv[a + 1], argv[a + 2], tonumber(argv[a + 3])
    if redis.call('SET', seen, '1', 'NX', 'EX', ttl) then
      redis.call('RPUSH', queue, payload)
      redis.call('ZADD', ready, 'NX', now, okey)
      added = added + 1
      if opened > 0 then
        if opened > tonumber(redis.call('HGET', window, shopper) or '0') then
          redis.call('HSET', window, shopper, opened)
        end
        redis.call('HDEL', unreachable, shopper)
      end
    end
  end
  return added
end

-- enqueue: KEYS ready, window, unreachable, then pairs (seen_i, queue_i); ARGV[1]=seen ttl s, then four
-- per event (okey_i, payload_i, window shopper_i, window ms_i)
local function enqueue(keys, argv)
  return enqueue_from(keys, 4, argv, 2, keys[1], argv[1], keys[2], keys[3])
end

-- split: the inbox splitter's commit, fenced by its lease, in stream order.
-- KEYS: ready, splitter lease, inbox cursor, inbox stream, counters, window, unreachable, then pairs
--       (seen_i, queue_i).
-- ARGV: owner, lease ms, cursor read, new cursor, seen ttl, n ids, ids..., n counters, (field, count)...,
--       then four per event (okey_i, payload_i, window shopper_i, window ms_i).
-- Returns -1 if the lease is not ours, -2 if the cursor moved (another splitter committed), else the
-- number of events queued; the entries are deleted from the stream and the cursor moves past them.
local function split(keys, argv)
  if redis.call('GET', keys[2]) ~= argv[1] then return -1 end
  if (redis.call('GET', keys[3]) or '0-0') ~= argv[3] then return -2 end
  local n_ids = tonumber(argv[6])
  local at = 7
  if n_ids > 0 then
    redis.call('XDEL', keys[4], unpack(argv, at, at + n_ids - 1))
  end
  at = at + n_ids
  local n_counters = tonumber(argv[at])
  at = at + 1
  for i = 0, n_counters - 1 do
    redis.call('HINCRBY', keys[5], argv[at + 2 * i], argv[at + 2 * i + 1])
  end
  at = at + 2 * n_counters
  local added = enqueue_from(keys, 8, argv, at, keys[1], argv[5], keys[6], keys[7])
  redis.call('SET', keys[3], argv[4])
  redis.call('PEXPIRE', keys[2], argv[2])
  return added
end

-- hold: KEYS lease[, inbox cursor]; ARGV owner, lease ms. Takes the splitter lease if free, renews it if
-- ours; lease ms 0 gives it up (if ours). Returns 0 unless this owner holds it now; then 1, or, given the
-- cursor's key, the cursor ('0-0' before the first split), so a splitter's step costs one round trip less.
local function held(keys)
  if keys[2] then return redis.call('GET', keys[2]) or '0-0' end
  return 1
end

local function hold(keys, argv)
  local owner = redis.call('GET', keys[1])
  if argv[2] == '0' then
    if owner == argv[1] then redis.call('DEL', keys[1]) end
    return 0
  end
  if owner == argv[1] then
    redis.call('PEXPIRE', keys[1], argv[2])
    return held(keys)
  end
  if owner then return 0 end
  redis.call('SET', keys[1], argv[1], 'PX', argv[2])
  return held(keys)
end

-- claim: KEYS ready, leases, owners; ARGV owner, lease_ms, max, queue key prefix
-- Recovers expired leases first (their heads are handled again), then leases up to max keys.
-- Returns {leased keys, recovered, their heads} (a head false for an empty queue): the consumer's
-- first item of each without another round trip. The queues are the Page's (its hash tag, one slot).
local function claim(keys, argv)
  local now = real_now()
  local expired = redis.call('ZRANGEBYSCORE', keys[2], '-inf', now, 'LIMIT', 0, 100)
  for _, k in ipairs(expired) do
    redis.call('ZREM', keys[2], k)
    redis.call('HDEL', keys[3], k)
    redis.call('ZADD', keys[1], 0, k)
  end
  local out, heads = {}, {}
  local candidates = redis.call('ZRANGE', keys[1], 0, tonumber(argv[3]) - 1)
  for _, k in ipairs(candidates) do
    redis.call('ZREM', keys[1], k)
    if not redis.call('ZSCORE', keys[2], k) then
      redis.call('ZADD', keys[2], now + tonumber(argv[2]), k)
      redis.call('HSET', keys[3], k, argv[1])
      out[#out + 1] = k
      heads[#heads + 1] = redis.call('LINDEX', argv[4] .. k, 0)
    end
  end
  return {out, #expired, heads}
end

local writes = {SET = true, ZADD = true, ZREM = true}

-- The handler's commit (bot/turn_commit.py), after complete's own keys and arguments: KEYS from 6 the jobs'
-- keys (enqueue_jobs, bot/outbox_enqueue.lua) and one key per write; ARGV from 7 the number of jobs, their
-- arguments (none for no job), the number of writes, then per write its command, its argument count and
-- its arguments.
local function commit_turn(keys, argv)
  if #argv < 7 then return end
  local jobs = tonumber(argv[7])
  local k, a = 5 + (jobs > 0 and 2 + 3 * jobs or 0), 8 + (jobs > 0 and 2 + 4 * jobs or 0)
  local steps, at = {}, a  -- every write checked before anything is written
  for i = 1, tonumber(argv[a]) do
    local command, count = argv[at + 1], tonumber(argv[at + 2])
    if not writes[command] then return redis.error_reply('commit: ' .. command .. ' is not a turn write') end
    steps[i] = {command, at + 3, at + 2 + count}
    at = at + 2 + count
  end
  if jobs > 0 then enqueue_jobs(keys, 5, argv, 7, jobs) end
  for i, step in ipairs(steps) do
    redis.call(step[1], keys[k + i], unpack(argv, step[2], step[3]))
  end
end

-- complete: KEYS queue, ready, leases, owners, counters; ARGV okey, owner, lease_ms, counter_field, keep, item id;
-- then, optionally, the handler's commit (commit_turn above).
-- Runs the handler's commit (its send jobs and last writes), pops the handled head and counts it,
-- atomically. Returns {-1} if the lease was lost, else {the number of events still queued}; keeps the
-- lease when keep=1 and more are queued, and then returns the new head too ({left, head}: the consumer's
-- next item without another round trip). When the head is no longer the item handled (an earlier try of
-- this complete ran, and its answer was lost), nothing is run, popped or counted again.
local function complete(keys, argv)
  if redis.call('HGET', keys[4], argv[1]) ~= argv[2] then
    return {-1}
  end
  local head = redis.call('LINDEX', keys[1], 0)
  local prefix = argv[6] .. ' '
  if head and string.sub(head, 1, #prefix) == prefix then
    local refused = commit_turn(keys, argv)
    if refused then return refused end
    redis.call('LPOP', keys[1])
    if argv[4] ~= '' then
      redis.call('HINCRBY', keys[5], argv[4], 1)
    end
  end
  local left = redis.call('LLEN', keys[1])
  if left > 0 and argv[5] == '1' then
    redis.call('ZADD', keys[3], real_now() + tonumber(argv[3]), argv[1])
    return {left, redis.call('LINDEX', keys[1], 0)}
  end
  redis.call('ZREM', keys[3], argv[1])
  redis.call('HDEL', keys[4], argv[1])
  if left > 0 then
    redis.call('ZADD', keys[2], 'NX', real_now(), argv[1])
  end
  return {left}
end

-- extend: KEYS leases, owners; ARGV owner, lease_ms, okeys... Extends each lease still ours; returns
-- the okeys that are not (lost: expired and taken by another consumer, or given back).
local function extend(keys, argv)
  local until_ms, lost = real_now() + tonumber(argv[2]), {}
  for i = 3, #argv do
    if redis.call('HGET', keys[2], argv[i]) == argv[1] then
      redis.call('ZADD', keys[1], 'XX', until_ms, argv[i])
    else
      lost[#lost + 1] = argv[i]
    end
  end
  return lost
end

-- release: KEYS queue, ready, leases, owners; ARGV okey, owner. Gives a lease back untouched.
local function release(keys, argv)
  if redis.call('HGET', keys[4], argv[1]) ~= argv[2] then
    return 0
  end
  redis.call('ZREM', keys[3], argv[1])
  redis.call('HDEL', keys[4], argv[1])
  if redis.call('LLEN', keys[1]) > 0 then
    redis.call('ZADD', keys[2], 'NX', real_now(), argv[1])
  end
  return 1
end

local ops = {enqueue = enqueue, split = split, hold = hold, claim = claim, complete = complete, extend = extend,
             release = release}
local op = table.remove(ARGV, 1)
return ops[op](KEYS, ARGV)
