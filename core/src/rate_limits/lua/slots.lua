-- A global cap on concurrent checkouts: a slot per request in flight, in a sorted set scored
-- by when it was taken. Slots older than the request timeout belong to processes that died
-- mid-request and are dropped.
-- KEYS: the slots
-- ARGV: now (ms), stale before (ms), cap, slot id
-- Answers 1 (slot taken) or 0 (every slot busy).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
return 1
