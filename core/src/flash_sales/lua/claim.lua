-- Claims purchase tokens for one checkout, all or nothing (seed 8.2, layer 3). The admission
-- buys once, the buyer stays within the sale's limit, and an empty pool answers "sold out"
-- without the checkout touching inventory.
-- KEYS: warm, free, buyers, used, claims, deadlines (one sale, one hash tag)
-- ARGV: checkout, user, quantity, per-buyer limit, admission id, deadline (ms)
-- Answers {1, token...} or {0, reason}: cold (pool not loaded), replayed, limit, sold_out, or
-- {0, 'held', first hold's deadline (ms), last hold's deadline (ms)}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 'cold'}
end
if redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 1 then
  return {0, 'replayed'}
end
local quantity = tonumber(ARGV[3])
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if held + quantity > tonumber(ARGV[4]) then
  return {0, 'limit'}
end
if redis.call('SCARD', KEYS[2]) < quantity then
  -- Every token is sold or held. A held one comes back if its checkout lapses: say when the
  -- holds end, so a buyer waits for one instead of asking again and again.
  local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if first[2] then
    local last = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
    return {0, 'held', first[2], last[2]}
  end
  return {0, 'sold_out'}
end
local tokens = redis.call('SPOP', KEYS[2], quantity)
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('HINCRBY', KEYS[3], ARGV[2], quantity)
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2] .. '|' .. ARGV[5] .. '|' .. table.concat(tokens, ','))
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[1])
local answer = {1}
for i, token in ipairs(tokens) do
  answer[i + 1] = token
end
return answer
