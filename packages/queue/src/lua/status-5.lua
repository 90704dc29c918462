--[[
  Reads an event's live queue figures for the operator (no side effects).

  KEYS[1] marker
  KEYS[2] waiting
  KEYS[3] active
  KEYS[4] admitted
  KEYS[5] sale

  ARGV[1] prefix of the WAITING token buckets

  Returns {R.RECOVER} or {R.OK, state, waiting, ready, admittedLastMinute, oldestWaiterIssuedAt ('' if none), now}.
]]
--- @include "now"
--- @include "sale"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local now = nowMs()
local head = redis.call('ZRANGE', KEYS[2], 0, 0)
local oldest = ''
if head[1] then
  local t = readWaiting({ records = ARGV[1], waiting = KEYS[2] }, head[1])
  oldest = t and t.issuedAt or ''
end
return { R.OK, saleState(readSale(KEYS[5]), now), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
  redis.call('ZCOUNT', KEYS[4], now - 60000, '+inf'), oldest, now }
