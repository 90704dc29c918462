--[[
  Reads a token for the booking API, with the server time to judge expiry.

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] records    prefix of the WAITING token buckets
  KEYS[4] waiting

  ARGV[1] token

  Returns {R.RECOVER}, {R.MISSING} or {R.OK, '_now', now, field, value, ...}
  (the token's state as stored-name pairs).
]]
--- @include "now"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local t = readToken({ records = KEYS[3], waiting = KEYS[4] }, KEYS[2], ARGV[1])
if not t then return { R.MISSING } end
return statePairs(ARGV[1], t, { R.OK, '_now', tostring(nowMs()) })
