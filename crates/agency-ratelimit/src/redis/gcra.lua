-- GCRA for one key, atomically, with the time taken from the Redis server.
--
-- KEYS[1]  the bucket: holds the theoretical arrival time (TAT), in microseconds since the epoch
-- ARGV[1]  emission interval T, in microseconds (window / limit, rounded up)
-- ARGV[2]  burst: cells allowed at once
-- ARGV[3]  cost: cells this request takes (1 <= cost <= burst, checked by the caller)
-- ARGV[4]  "1" to peek: decide as a check would, and write nothing
--
-- Returns {allowed (1 or 0), remaining, reset_after_us, retry_after_us}, counted after the
-- request's cells are spent when allowed (also when peeking, which then does not spend them).
--
-- Only KEYS[1] is touched (cluster-safe). Every write sets a TTL equal to the time until the
-- bucket is full again, after which the key is indistinguishable from an absent one, so Redis
-- memory holds only keys that are still limiting someone. Requires Redis >= 5 (effects
-- replication, so TIME may precede a write).

local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tau = t * (burst - 1)

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if tat == nil or tat < now then
  tat = now
end

local allow_at = tat + (cost - 1) * t - tau
if now < allow_at then
  local remaining = math.floor((tau + t - (tat - now)) / t)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, tat - now, allow_at - now}
end

local new_tat = tat + cost * t
local gap = new_tat - now
if ARGV[4] ~= '1' then
  -- '%.0f': Lua 5.1 would otherwise write large numbers in exponent form.
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.ceil(gap / 1000)))
end
local remaining = math.floor((tau + t - gap) / t)
if remaining < 0 then remaining = 0 end
return {1, remaining, gap, 0}
