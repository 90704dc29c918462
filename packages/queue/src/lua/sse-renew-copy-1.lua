--[[
  Renews a gateway copy's lease in the copies registry (sse-leases.ts): while it
  runs, the copy's members in the sets of places count. Also forgets copies dead
  for a day.

  KEYS[1] copies registry (zset copy id -> lease expiry, ms on the Redis clock)

  ARGV[1] copy id
  ARGV[2] lease (ms)

  Returns {R.OK} when the lease was still running, {R.LAPSED} when it had lapsed
  or was gone (Redis was away or lost its data): then the copy's places may have
  been dropped, and it puts them back (sse-put-back-1.lua).
]]
--- @include "now"

local now = nowMs()
local before = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400000)
if before > now then return { R.OK } end
return { R.LAPSED }
