--[[
  Reads a token for the booking API, with the server time to judge expiry.

  KEYS[1] marker
  KEYS[2] token hash

  Returns {'RECOVER'}, {'MISSING'} or {'OK', '_now', now, field, value, ...}.
]]
--- @include "now"

if redis.call('EXISTS', KEYS[1]) == 0 then return { 'RECOVER' } end
local fields = redis.call('HGETALL', KEYS[2])
if #fields == 0 then return { 'MISSING' } end
local reply = { 'OK', '_now', tostring(nowMs()) }
for i = 1, #fields do reply[#reply + 1] = fields[i] end
return reply
