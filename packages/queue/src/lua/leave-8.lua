--[[
  Leaves the queue (DELETE): a WAITING token drops out, a READY token gives
  its slot back at once. Either way the token becomes EXPIRED (LEFT).

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] active
  KEYS[5] accounts   prefix of the account buckets
  KEYS[6] records    prefix of the WAITING token buckets
  KEYS[7] stream
  KEYS[8] feed       expiries for the SSE fan-out (includes/expire.lua)

  ARGV[1] token
  ARGV[2] retention seconds

  Returns {R.RECOVER}, {R.MISSING}, or {R.LEFT} / {R.ALREADY_EXPIRED} followed by the
  token's state as stored-name pairs, '_epoch', epoch, '_u', unmirrored ('1' while
  MySQL lacks the latest change: the caller makes it durable before answering).
]]
--- @include "now"
--- @include "expire"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local k = { waiting = KEYS[3], active = KEYS[4], accounts = KEYS[5], records = KEYS[6], stream = KEYS[7],
  feed = KEYS[8], epoch = epoch }
local t = readToken(k, KEYS[2], ARGV[1])
if not t then return { R.MISSING } end
local code = R.ALREADY_EXPIRED
if t.status ~= S.EXPIRED then
  expireToken(k, KEYS[2], ARGV[1], X.LEFT, nowMs(), tonumber(ARGV[2]))
  t = readToken(k, KEYS[2], ARGV[1])
  code = R.LEFT
end
return toldState(ARGV[1], t, epoch, { code })
