--[[
  Leaves the queue (DELETE): a WAITING token drops out, a READY token gives
  its slot back at once. Either way the token becomes EXPIRED (LEFT).

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] heartbeat
  KEYS[5] active
  KEYS[6] accounts
  KEYS[7] stream
  KEYS[8] feed       expiries for the SSE fan-out

  ARGV[1] token
  ARGV[2] retention seconds

  Returns {R.RECOVER}, {R.MISSING}, {R.ALREADY_EXPIRED} or {R.LEFT}.
]]
--- @include "now"
--- @include "expire"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return { R.MISSING } end
if status == 'EXPIRED' then return { R.ALREADY_EXPIRED } end
local k = { waiting = KEYS[3], heartbeat = KEYS[4], active = KEYS[5], accounts = KEYS[6], stream = KEYS[7],
  feed = KEYS[8], epoch = epoch }
expireToken(k, KEYS[2], ARGV[1], 'LEFT', nowMs(), tonumber(ARGV[2]))
return { R.LEFT }
