-- A sliding-window counter (seed 16.7): the previous window's count, weighted by how much of
-- it still overlaps the sliding window, plus the current window's count. Counts the request
-- only when it is allowed.
-- KEYS: the current window's counter, the previous window's counter
-- ARGV: weight of the previous window (thousandths), limit, window (ms)
-- Answers 1 (allowed) or 0 (over the limit).
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if previous * tonumber(ARGV[1]) / 1000 + current + 1 > tonumber(ARGV[2]) then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
