-- Reserve every line of a checkout, or nothing (seed 6.3, all-or-nothing).
-- KEYS[1] the saga's hold (hash inventory_id -> quantity), KEYS[2] the expiry index (zset),
-- KEYS[3..] the available counters of every candidate stock row, named '...:avail:<id>'.
-- ARGV[1] saga id, ARGV[2] expiry (ms), ARGV[3] line count, then per line:
--   quantity, candidate count, candidate positions (1-based into KEYS[3..]) in preference order.
-- Replies: {'HELD', {id, qty, ...}} (this saga already holds stock: idempotent retry),
-- {'LOAD', {position, ...}} (counters missing: load them from PostgreSQL and retry),
-- {'SHORT', {line, available, ...}} (nothing reserved), {'OK', {id, qty, ...}}.
-- Failures are arrays, never bare Lua tables that Redis would flatten.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'HELD', redis.call('HGETALL', KEYS[1])}
end
local missing = {}
local available = {}
for k = 3, #KEYS do
  local value = redis.call('GET', KEYS[k])
  if value then
    available[k] = tonumber(value)
  else
    table.insert(missing, k - 2)
  end
end
if #missing > 0 then
  return {'LOAD', missing}
end
local lines = tonumber(ARGV[3])
local at = 4
local allocations = {}
local short = {}
for line = 1, lines do
  local wanted = tonumber(ARGV[at])
  local count = tonumber(ARGV[at + 1])
  at = at + 2
  local free = 0
  for c = 0, count - 1 do
    free = free + math.max(available[tonumber(ARGV[at + c]) + 2], 0)
  end
  if free < wanted then
    table.insert(short, line)
    table.insert(short, free)
  else
    -- Greedy in preference order: the nearest warehouse first, the rest only for what it lacks.
    local left = wanted
    for c = 0, count - 1 do
      local k = tonumber(ARGV[at + c]) + 2
      if left > 0 and available[k] > 0 then
        local take = math.min(available[k], left)
        available[k] = available[k] - take
        left = left - take
        table.insert(allocations, k)
        table.insert(allocations, take)
      end
    end
  end
  at = at + count
end
if #short > 0 then
  return {'SHORT', short}
end
local held = {}
for i = 1, #allocations, 2 do
  local key = KEYS[allocations[i]]
  local id = string.match(key, ':(%d+)$')
  redis.call('DECRBY', key, allocations[i + 1])
  redis.call('HINCRBY', KEYS[1], id, allocations[i + 1])
  table.insert(held, id)
  table.insert(held, allocations[i + 1])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
-- A safety net only: holds are released explicitly; this reclaims memory a day after expiry.
redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[2]) + 86400000)
return {'OK', held}
