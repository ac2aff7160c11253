-- The saga's units are sold: forget the hold without giving anything back (the brief's fix to
-- the seed's release-on-confirm, which would count sold units twice).
-- KEYS[1] the saga's hold, KEYS[2] the expiry index; ARGV[1] saga id.
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return existed
