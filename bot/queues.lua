-- Per-shopper queues: one Redis list per ordering key, a "ready" ZSET of keys
-- with pending events and no lease, and leases (ZSET by expiry, HASH owner).
-- Lease times use raw Redis TIME, never the sandbox clock offset: moving the
-- sandbox clock must not expire leases.

local function real_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- enqueue: KEYS[1]=ready, then pairs (seen_i, queue_i); ARGV[1]=seen ttl s, then pairs (okey_i, payload_i)
-- Returns how many events were new (not seen before).
local function enqueue(keys, argv)
  local now = real_now()
  local added = 0
  local n = (#keys - 1) / 2
  for i = 1, n do
    local seen, queue = keys[2 * i], keys[2 * i + 1]
    local okey, payload = argv[2 * i], argv[2 * i + 1]
    if redis.call('SET', seen, '1', 'NX', 'EX', argv[1]) then
      redis.call('RPUSH', queue, payload)
      redis.call('ZADD', keys[1], 'NX', now, okey)
      added = added + 1
    end
  end
  return added
end

-- claim: KEYS ready, leases, owners; ARGV owner, lease_ms, max
-- Recovers expired leases first (their heads are handled again), then leases up to max keys.
local function claim(keys, argv)
  local now = real_now()
  local expired = redis.call('ZRANGEBYSCORE', keys[2], '-inf', now, 'LIMIT', 0, 100)
  for _, k in ipairs(expired) do
    redis.call('ZREM', keys[2], k)
    redis.call('HDEL', keys[3], k)
    redis.call('ZADD', keys[1], 0, k)
  end
  local out = {}
  local candidates = redis.call('ZRANGE', keys[1], 0, tonumber(argv[3]) - 1)
  for _, k in ipairs(candidates) do
    redis.call('ZREM', keys[1], k)
    if not redis.call('ZSCORE', keys[2], k) then
      redis.call('ZADD', keys[2], now + tonumber(argv[2]), k)
      redis.call('HSET', keys[3], k, argv[1])
      out[#out + 1] = k
    end
  end
  return {out, #expired}
end

-- complete: KEYS queue, ready, leases, owners, counters; ARGV okey, owner, lease_ms, counter_field, keep
-- Pops the handled head and counts it, atomically. Returns -1 if the lease was lost,
-- else the number of events still queued; keeps the lease when keep=1 and more are queued.
local function complete(keys, argv)
  if redis.call('HGET', keys[4], argv[1]) ~= argv[2] then
    return -1
  end
  redis.call('LPOP', keys[1])
  if argv[4] ~= '' then
    redis.call('HINCRBY', keys[5], argv[4], 1)
  end
  local left = redis.call('LLEN', keys[1])
  if left > 0 and argv[5] == '1' then
    redis.call('ZADD', keys[3], real_now() + tonumber(argv[3]), argv[1])
    return left
  end
  redis.call('ZREM', keys[3], argv[1])
  redis.call('HDEL', keys[4], argv[1])
  if left > 0 then
    redis.call('ZADD', keys[2], 'NX', real_now(), argv[1])
  end
  return left
end

-- extend: KEYS leases, owners; ARGV okey, owner, lease_ms. 1 if still ours.
local function extend(keys, argv)
  if redis.call('HGET', keys[2], argv[1]) ~= argv[2] then
    return 0
  end
  redis.call('ZADD', keys[1], 'XX', real_now() + tonumber(argv[3]), argv[1])
  return 1
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

local ops = {enqueue = enqueue, claim = claim, complete = complete, extend = extend, release = release}
local op = table.remove(ARGV, 1)
return ops[op](KEYS, ARGV)
