-- Puts a buyer in a sale's queue once; a second join finds the first. Before the start a
-- buyer draws a lottery place, after it (once the early joiners are counted) an arrival one.
-- The place is kept in one call with the decision, so a second join (another device, a retry)
-- never finds a join half done: the core signs the same ticket again from what is kept.
-- KEYS: joined, early, late, cursor
-- ARGV: user, ticket id, lottery number, '1' when joining before the start, joined at (unix s)
-- Answers {'new' or 'existing', 'ticket id|early or late|number|joined at'}.
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return {'existing', existing}
end
local place
if ARGV[4] == '1' and redis.call('HEXISTS', KEYS[4], 'early') == 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  place = 'early|' .. ARGV[3]
else
  place = 'late|' .. tostring(redis.call('INCR', KEYS[3]) - 1)
end
local kept = ARGV[2] .. '|' .. place .. '|' .. ARGV[5]
redis.call('HSET', KEYS[1], ARGV[1], kept)
return {'new', kept}
