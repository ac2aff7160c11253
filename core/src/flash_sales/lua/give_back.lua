-- Returns a checkout's claimed tokens to the pool, once: the claim is forgotten with it.
-- KEYS: warm, free, buyers, used, claims, deadlines
-- ARGV: checkout, '1' to let the admission buy again (the claim never became a checkout)
-- Answers the number of tokens returned.
local claim = redis.call('HGET', KEYS[5], ARGV[1])
if not claim then
  return 0
end
local user, admission, tokens = string.match(claim, '^([^|]*)|([^|]*)|(.*)$')
local count = 0
for token in string.gmatch(tokens, '[^,]+') do
  redis.call('SADD', KEYS[2], token)
  count = count + 1
end
if redis.call('HINCRBY', KEYS[3], user, -count) <= 0 then
  redis.call('HDEL', KEYS[3], user)
end
if ARGV[2] == '1' then
  redis.call('SREM', KEYS[4], admission)
end
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return count
