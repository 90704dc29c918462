--[[
  Of the gateway copies named, those whose lease in the copies registry has
  lapsed (or is gone): their members in a full set of places go first
  (sse-take-place-1.lua).

  KEYS[1] copies registry (zset copy id -> lease expiry, ms on the Redis clock)

  ARGV[1..] copy ids

  Returns {R.OK, copy id, ...} (the dead ones).
]]
--- @include "now"

local now = nowMs()
local dead = { R.OK }
for i = 1, #ARGV do
  if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]) or '0') <= now then dead[#dead + 1] = ARGV[i] end
end
return dead
