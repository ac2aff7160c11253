-- Puts a buyer in a sale's queue once; a second join finds the first. Before the start a
-- buyer draws a lottery place, after it (once the early joiners are counted) an arrival one.
-- KEYS: joined, early, late, cursor
-- ARGV: user, ticket id, lottery number, '1' when joining before the start
-- Answers {'existing', signed ticket or '' while the first join signs it}, {'early', lottery}
-- or {'late', arrival}.
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return {'existing', existing}
end
redis.call('HSET', KEYS[1], ARGV[1], '')
if ARGV[4] == '1' and redis.call('HEXISTS', KEYS[4], 'early') == 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  return {'early', ARGV[3]}
end
return {'late', tostring(redis.call('INCR', KEYS[3]) - 1)}
