--[[
  Reads a token for the booking API, with the server time to judge expiry, and
  (when ARGV names fields) those fields of the event's catalogue versions, so a
  cached catalogue answer is checked in the same round trip as its token.

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] the event's catalogue versions hash (keys.ts catalogVersionsKey)

  ARGV    fields of KEYS[3] to read (none: no read)

  Returns {R.RECOVER}, {R.MISSING} or
  {R.OK, '_now', now, field, value, ..., '_catalog:' .. ARGV[i], version or '', ...}.
]]
--- @include "now"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local fields = redis.call('HGETALL', KEYS[2])
if #fields == 0 then return { R.MISSING } end
local reply = { R.OK, '_now', tostring(nowMs()) }
for i = 1, #fields do reply[#reply + 1] = fields[i] end
if #ARGV > 0 then
  local versions = redis.call('HMGET', KEYS[3], unpack(ARGV))
  for i = 1, #ARGV do
    reply[#reply + 1] = '_catalog:' .. ARGV[i]
    reply[#reply + 1] = versions[i] or ''
  end
end
return reply
