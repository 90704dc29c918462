--[[
  Reads an event's live queue figures for the operator (no side effects): the
  operator API's queue status and the gateway's per-event metrics.

  KEYS[1] marker
  KEYS[2] waiting
  KEYS[3] active
  KEYS[4] admitted
  KEYS[5] sale

  ARGV[1] prefix of the WAITING token buckets
  ARGV[2] maxActive       (default; the event's own wins, as in admit-11.lua)
  ARGV[3] admitPerSecond  (default; likewise)
  ARGV[4] activeTtlMs     (default; likewise)
  ARGV[5] waitingIdleMs   (default; likewise)

  Returns {R.RECOVER} or {R.OK, state, waiting, ready, admittedLastMinute, oldestWaiterIssuedAt ('' if none), now,
  maxActive, admitPerSecond, activeTtlMs, waitingIdleMs, paused (1 or 0)}.
]]
--- @include "now"
--- @include "sale"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local now = nowMs()
local s = readSale(KEYS[5])
local head = redis.call('ZRANGE', KEYS[2], 0, 0)
local oldest = ''
if head[1] then
  local t = readWaiting({ records = ARGV[1], waiting = KEYS[2] }, head[1])
  oldest = t and t.issuedAt or ''
end
return { R.OK, saleState(s, now), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
  redis.call('ZCOUNT', KEYS[4], now - 60000, '+inf'), oldest, now, saleSetting(s, 'maxActive', ARGV[2]),
  saleSetting(s, 'admitPerSecond', ARGV[3]), saleSetting(s, 'activeTtlMs', ARGV[4]),
  saleSetting(s, 'waitingIdleMs', ARGV[5]), s.paused == '1' and 1 or 0 }
