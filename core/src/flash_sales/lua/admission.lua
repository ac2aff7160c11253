-- Advances a sale's admission cursor to now at the sale's rate (seed 8.2, layer 1): never past
-- the queue's length, not while every token is held, and not while `max active` admitted
-- buyers are still on their way to checkout. Any process may call it, as often as it likes:
-- the cursor moves with elapsed time and checkouts, not with calls. The early joiners are
-- counted once, at the first call after the start. An early place reported later still goes
-- in once every counted early joiner is admitted, and the thresholds never move back, so an
-- admitted ticket stays admitted however late a report comes.
--
-- On their way: admitted, not yet holding a token (the used admissions count those who got
-- one), and admitted less than `active for` ago. An admitted buyer who has not come by then
-- walked away, or is still paging; either way the queue moves on without them (their
-- admission still buys while it lasts). More may be on their way than tokens are free: those
-- told "sold out" while every token is held wait at the door for a held one to lapse, and
-- take it sooner than buyers still in the queue could. A history of the admitted count, one
-- entry a second, says how many were admitted that long ago, and the pace since.
--
-- Late joiners are admitted by arrival time, up to the arrival of the last one the count
-- admits. Once every counted buyer is admitted and a token is free, so is whoever arrived more
-- than `uncounted after` ago: a ticket whose report was lost is not left waiting for ever.
-- KEYS: cursor, early, arrivals, free, warm, deadlines, used, history
-- ARGV: now (ms), start (ms), rate per minute, lottery span, max active, active for (ms),
-- uncounted after (ms)
-- Answers {admitted, early joiners, early threshold, late joiners, sold out 0/1, the first
-- held token's deadline (ms; 0 unless sold out with a token held), pace per minute, late
-- joiners admitted up to this arrival (ms; 0 while none), the last arrival counted (ms; 0
-- while none), the last held token's deadline (ms; as the first)}: a held token comes back
-- if its checkout lapses, and waiting buyers need not ask before then. The pace is the sale's
-- rate, or slower when checkouts (or a queue with nobody left in it) held admission back over
-- the history (at least 5 s of it, and not while sold out: that standstill has its own wait).
local now = tonumber(ARGV[1])
local start = tonumber(ARGV[2])
local late = redis.call('ZCARD', KEYS[3])
local last_arrival = 0
local newest_arrival = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if newest_arrival[2] then
  last_arrival = tonumber(newest_arrival[2])
end
if now < start then
  return {0, redis.call('ZCARD', KEYS[2]), 0, late, 0, 0, tonumber(ARGV[3]), 0, last_arrival}
end
local cursor = redis.call('HMGET', KEYS[1], 'milli', 'last', 'early', 'threshold', 'until')
local milli, last, early = tonumber(cursor[1]), tonumber(cursor[2]), tonumber(cursor[3])
local threshold, until_ = tonumber(cursor[4]) or 0, tonumber(cursor[5]) or 0
if not early then
  early = redis.call('ZCARD', KEYS[2])
  milli = 0
  last = start
end
local sold_out = redis.call('EXISTS', KEYS[5]) == 1 and redis.call('SCARD', KEYS[4]) == 0
local joined = early + late
-- A history entry is "<ms>:<admitted then>".
local function admitted_in(entry)
  return tonumber(string.match(entry, ':(%d+)$'))
end
-- The newest entry at least `active for` old: everyone admitted by then is no longer waited
-- for. Older entries are not needed again.
local gone = 0
local then_ = redis.call('ZREVRANGEBYSCORE', KEYS[8], now - tonumber(ARGV[6]), '-inf',
  'WITHSCORES', 'LIMIT', 0, 1)
if then_[2] then
  gone = admitted_in(then_[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. then_[2])
end
if now > last then
  if not sold_out then
    -- Thousandths of a buyer per ms: rate / 60000 buyers per ms.
    local by_rate = math.min(milli + math.floor((now - last) * tonumber(ARGV[3]) / 60), joined * 1000)
    local settled = math.max(redis.call('SCARD', KEYS[7]), gone)
    local window = (settled + tonumber(ARGV[5])) * 1000
    milli = math.max(milli, math.min(by_rate, window))
  end
  last = now
end
local admitted = math.floor(milli / 1000)
local pace = tonumber(ARGV[3])
local oldest = redis.call('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
if oldest[2] and not sold_out and now - tonumber(oldest[2]) >= 5000 then
  local since = admitted_in(oldest[1])
  pace = math.min(pace, math.floor((admitted - since) * 60000 / (now - tonumber(oldest[2]))))
end
local newest = redis.call('ZRANGE', KEYS[8], -1, -1, 'WITHSCORES')
if not newest[2] or now - tonumber(newest[2]) >= 1000 then
  redis.call('ZADD', KEYS[8], now, now .. ':' .. admitted)
end
if admitted >= early and admitted > 0 then
  threshold = tonumber(ARGV[4])
elseif admitted > 0 then
  local at = redis.call('ZRANGE', KEYS[2], admitted - 1, admitted - 1, 'WITHSCORES')
  threshold = math.max(threshold, tonumber(at[2]))
end
if admitted > early then
  local at = redis.call('ZRANGE', KEYS[3], admitted - early - 1, admitted - early - 1, 'WITHSCORES')
  if at[2] then
    until_ = math.max(until_, tonumber(at[2]))
  end
end
if admitted >= joined and not sold_out then
  until_ = math.max(until_, now - tonumber(ARGV[7]))
end
-- '%.0f': Lua would write a number of 15 digits or more rounded, and lottery numbers have 16.
redis.call('HSET', KEYS[1], 'milli', milli, 'last', last, 'early', early,
  'threshold', string.format('%.0f', threshold), 'until', string.format('%.0f', until_))
local flag = 0
local returns_at = 0
local last_returns_at = 0
if sold_out then
  flag = 1
  local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if first[2] then
    returns_at = tonumber(first[2])
    last_returns_at = tonumber(redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')[2])
  end
end
return {admitted, early, threshold, late, flag, returns_at, math.max(pace, 1), until_,
  last_arrival, last_returns_at}
