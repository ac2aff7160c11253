-- Give a saga's held units back to their counters and forget the hold (release or expiry).
-- KEYS[1] the saga's hold, KEYS[2] the expiry index; ARGV[1] saga id, ARGV[2] the counters'
-- key prefix ('...:avail:'). Counters live in the hold's hash slot (same {stock} tag).
-- A counter that is missing (Redis restarted) is left missing: it is loaded from PostgreSQL,
-- which already counts the release, when next needed. Idempotent: a second call finds no hold.
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  local counter = ARGV[2] .. held[i]
  if redis.call('EXISTS', counter) == 1 then
    redis.call('INCRBY', counter, held[i + 1])
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return #held / 2
