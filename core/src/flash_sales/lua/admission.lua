-- Advances a sale's admission cursor to now at the sale's rate (seed 8.2, layer 1): never past
-- the queue's length, and not while every token is held. Any process may call it, as often as
-- it likes: the cursor moves with elapsed time, not with calls. The early joiners are counted
-- once, at the first call after the start; later joins are late.
-- KEYS: cursor, early, late, free, warm, deadlines
-- ARGV: now (ms), start (ms), rate per minute, lottery span
-- Answers {admitted, early joiners, early threshold, late joiners, sold out 0/1, the first
-- held token's deadline (ms; 0 unless sold out with a token held)}: a held token comes back if
-- its checkout lapses, and waiting buyers need not ask before then.
local now = tonumber(ARGV[1])
local start = tonumber(ARGV[2])
local late = tonumber(redis.call('GET', KEYS[3]) or '0')
if now < start then
  return {0, redis.call('ZCARD', KEYS[2]), 0, late, 0, 0}
end
local cursor = redis.call('HMGET', KEYS[1], 'milli', 'last', 'early')
local milli, last, early = tonumber(cursor[1]), tonumber(cursor[2]), tonumber(cursor[3])
if not early then
  early = redis.call('ZCARD', KEYS[2])
  milli = 0
  last = start
end
local sold_out = redis.call('EXISTS', KEYS[5]) == 1 and redis.call('SCARD', KEYS[4]) == 0
local joined = early + late
if now > last then
  if not sold_out then
    -- Thousandths of a buyer per ms: rate / 60000 buyers per ms.
    milli = math.min(milli + math.floor((now - last) * tonumber(ARGV[3]) / 60), joined * 1000)
  end
  last = now
end
redis.call('HSET', KEYS[1], 'milli', milli, 'last', last, 'early', early)
local admitted = math.floor(milli / 1000)
local threshold = 0
if admitted >= early and admitted > 0 then
  threshold = tonumber(ARGV[4])
elseif admitted > 0 then
  local at = redis.call('ZRANGE', KEYS[2], admitted - 1, admitted - 1, 'WITHSCORES')
  threshold = tonumber(at[2])
end
local flag = 0
local returns_at = 0
if sold_out then
  flag = 1
  local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if first[2] then
    returns_at = tonumber(first[2])
  end
end
return {admitted, early, threshold, late, flag, returns_at}
