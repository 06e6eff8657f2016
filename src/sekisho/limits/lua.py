"""The Redis Lua scripts of the 'redis' backend. Each runs atomically inside Redis.

Keys of one request all carry the organisation as a hash tag (``{org_id}``), so on Redis Cluster
they live in one slot and a script may touch them together.

Per budget and period, a hash ``B`` holds ``spent`` (settled), ``reserved`` (sum of in-flight
reservations) and one field ``r:<reservation id>`` per reservation with its amount; a sorted set
``Z`` holds the reservation ids scored by their expiry (epoch milliseconds). A script first frees
the expired members of ``Z`` and their amounts: that is how a dead process's reservations end (a
key that expires on its own cannot be subtracted from a total, a scored member can). Concurrency
uses a sorted set of running reservation ids per limit, freed the same way. Requests and tokens per
minute are plain counters per one-minute window that expire after two minutes.

Numbers computed in Lua are passed back to Redis with ``string.format('%d', n)``: Redis turns a Lua
number into text with 14 significant digits, which would round large nano-dollar amounts.
"""

from __future__ import annotations

_PURGE = """
local function purge(h, z, now)
  local dead = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #dead == 0 then return end
  local freed = 0
  for _, r in ipairs(dead) do
    local amount = redis.call('HGET', h, 'r:' .. r)
    if amount then
      freed = freed + tonumber(amount)
      redis.call('HDEL', h, 'r:' .. r)
    end
  end
  if freed ~= 0 then redis.call('HINCRBY', h, 'reserved', string.format('%d', -freed)) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
end
"""

# KEYS: B1, Z1, B2, Z2, … (nb budgets), then one key per rate counter (nr).
# ARGV: rid, now_ms, expires_ms, nb, nr, then per budget: cap, amount, key_ttl_s (0: no expiry),
#       then per rate counter: kind (r | t | c), cap, amount, key_ttl_s.
# Returns {'ok'}, {'init', i} (budget i has no spent yet: load it and retry) or
# {'deny', index, used, reserved} with index counting budgets first, then rate counters (1-based).
RESERVE = (
    _PURGE
    + """
local rid, now, expires = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local nb, nr = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 1, nb do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 5 + (i - 1) * 3
  purge(h, z, now)
  local spent = redis.call('HGET', h, 'spent')
  if not spent then return {'init', i} end
  local reserved = redis.call('HGET', h, 'reserved') or '0'
  if tonumber(spent) + tonumber(reserved) + tonumber(ARGV[a + 2]) > tonumber(ARGV[a + 1]) then
    return {'deny', i, spent, reserved}
  end
end
local base = 5 + nb * 3
for j = 1, nr do
  local k = KEYS[2 * nb + j]
  local a = base + (j - 1) * 4
  local used
  if ARGV[a + 1] == 'c' then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
    used = redis.call('ZCARD', k)
  else
    used = tonumber(redis.call('GET', k) or '0')
  end
  if used + tonumber(ARGV[a + 3]) > tonumber(ARGV[a + 2]) then
    return {'deny', nb + j, string.format('%d', used), '0'}
  end
end
for i = 1, nb do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 5 + (i - 1) * 3
  redis.call('HINCRBY', h, 'reserved', ARGV[a + 2])
  redis.call('HSET', h, 'r:' .. rid, ARGV[a + 2])
  redis.call('ZADD', z, expires, rid)
  if ARGV[a + 3] ~= '0' then
    redis.call('EXPIRE', h, ARGV[a + 3])
    redis.call('EXPIRE', z, ARGV[a + 3])
  end
end
for j = 1, nr do
  local k = KEYS[2 * nb + j]
  local a = base + (j - 1) * 4
  if ARGV[a + 1] == 'c' then
    redis.call('ZADD', k, expires, rid)
  else
    redis.call('INCRBY', k, ARGV[a + 3])
  end
  redis.call('EXPIRE', k, ARGV[a + 4])
end
return {'ok'}
"""
)

# KEYS: as RESERVE. ARGV: rid, nb, nr, then per budget: spend to add ('0': none),
# then per rate counter: kind, correction (tokens: used minus reserved; else '0').
SETTLE = """
local rid, nb, nr = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, nb do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local amount = redis.call('HGET', h, 'r:' .. rid)
  if amount then
    redis.call('HDEL', h, 'r:' .. rid)
    if amount ~= '0' then redis.call('HINCRBY', h, 'reserved', '-' .. amount) end
  end
  redis.call('ZREM', z, rid)
  local spend = ARGV[3 + i]
  -- A hash without 'spent' (expired, or Redis lost it) is rebuilt from the durable store, which
  -- receives this spend too: adding it here as well would count it twice.
  if spend ~= '0' and redis.call('HEXISTS', h, 'spent') == 1 then
    redis.call('HINCRBY', h, 'spent', spend)
  end
end
for j = 1, nr do
  local k = KEYS[2 * nb + j]
  local a = 3 + nb + (j - 1) * 2
  if ARGV[a + 1] == 'c' then
    redis.call('ZREM', k, rid)
  elseif ARGV[a + 2] ~= '0' and redis.call('EXISTS', k) == 1 then
    local left = redis.call('INCRBY', k, ARGV[a + 2])
    if left < 0 then redis.call('SET', k, '0', 'KEEPTTL') end
  end
end
return 'ok'
"""

# KEYS: B. ARGV: durable spent, key_ttl_s. Sets 'spent' when missing or behind the durable value.
RAISE_SPENT = """
local current = redis.call('HGET', KEYS[1], 'spent')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'spent', ARGV[1])
if ARGV[2] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

# KEYS: B, Z. ARGV: now_ms. Frees expired reservations; returns {spent or false, reserved}.
READ_BUDGET = (
    _PURGE
    + """
purge(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return {redis.call('HGET', KEYS[1], 'spent') or '', redis.call('HGET', KEYS[1], 'reserved') or '0'}
"""
)
