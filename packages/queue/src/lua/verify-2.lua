--[[
  Reads a token for the booking API, with the server time to judge expiry.

  KEYS[1] marker
  KEYS[2] token hash

  Returns {R.RECOVER}, {R.MISSING} or {R.OK, '_now', now, field, value, ...}.
]]
--- @include "now"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local fields = redis.call('HGETALL', KEYS[2])
if #fields == 0 then return { R.MISSING } end
local reply = { R.OK, '_now', tostring(nowMs()) }
for i = 1, #fields do reply[#reply + 1] = fields[i] end
return reply
