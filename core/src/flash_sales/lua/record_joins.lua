-- Records buyers' places in a sale's queue: the core's own joins, and the tickets the edge gave
-- and reports in batches. A buyer's first place stands: a later join or report (another
-- device, a retry, a batch sent twice) finds it and changes nothing. Places are counted in
-- the lottery's sorted set (early joiners) or the arrivals' (late ones), each buyer once.
-- KEYS: joined, early, arrivals
-- ARGV: per buyer, two: user, 'ticket id|early or arrived|lottery number or arrival ms|joined at'
-- Answers, per buyer, {'new' or 'existing', the place kept}.
local answers = {}
for i = 1, #ARGV, 2 do
  local existing = redis.call('HGET', KEYS[1], ARGV[i])
  if existing then
    answers[#answers + 1] = {'existing', existing}
  else
    local kept = ARGV[i + 1]
    local ticket, kind, number = string.match(kept, '^([^|]+)|([^|]+)|([^|]+)|')
    redis.call('HSET', KEYS[1], ARGV[i], kept)
    if kind == 'early' then
      redis.call('ZADD', KEYS[2], number, ticket)
    else
      redis.call('ZADD', KEYS[3], number, ticket)
    end
    answers[#answers + 1] = {'new', kept}
  end
end
return answers
