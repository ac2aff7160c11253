-- Loads a sale's pool from PostgreSQL's record: every token no checkout holds is free, every
-- held token counts against its buyer, every admission that bought stays used. Skipped when
-- the pool is already loaded, unless forced (an admin changed the sale before its start).
-- KEYS: warm, free, buyers, used, claims, deadlines
-- ARGV: force ('1'/'0'), units, held count n, then n x (token, user, admission, checkout or
--       '' once sold, deadline ms), then the admissions of returned claims.
-- Answers the number of free tokens, or -1 when skipped.
if ARGV[1] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
local units = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local held = {}
local held_count = 0
local claims = {}
for i = 0, n - 1 do
  local at = 4 + i * 5
  local token, user, admission, checkout, deadline =
    ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  if not held[token] then
    held[token] = true
    held_count = held_count + 1
  end
  redis.call('HINCRBY', KEYS[3], user, 1)
  redis.call('SADD', KEYS[4], admission)
  if checkout ~= '' then
    local claim = claims[checkout]
    if claim then
      claim.tokens = claim.tokens .. ',' .. token
    else
      claims[checkout] = {user = user, admission = admission, tokens = token, deadline = deadline}
    end
  end
end
for checkout, claim in pairs(claims) do
  redis.call('HSET', KEYS[5], checkout, claim.user .. '|' .. claim.admission .. '|' .. claim.tokens)
  redis.call('ZADD', KEYS[6], claim.deadline, checkout)
end
for i = 4 + n * 5, #ARGV do
  redis.call('SADD', KEYS[4], ARGV[i])
end
local batch = {}
for token = 1, units do
  if not held[tostring(token)] then
    batch[#batch + 1] = token
    if #batch == 1000 then
      redis.call('SADD', KEYS[2], unpack(batch))
      batch = {}
    end
  end
end
if #batch > 0 then
  redis.call('SADD', KEYS[2], unpack(batch))
end
redis.call('SET', KEYS[1], '1')
return units - held_count
