--[[
  Reads a token for the booking API, with the server time to judge expiry, and
  (when ARGV names fields after the token) those fields of the event's catalogue
  versions, so a cached catalogue answer is checked in the same round trip.

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] records    prefix of the WAITING token buckets
  KEYS[4] waiting
  KEYS[5] the event's catalogue versions hash (keys.ts catalogVersionsKey)

  ARGV[1]    token
  ARGV[2..n] fields of KEYS[5] to read (none: no read)

  Returns {R.RECOVER}, {R.MISSING} or {R.OK, '_now', now, '_epoch', epoch, '_u', unmirrored,
  field, value, ..., '_catalog:' .. field, version or '', ...} (the token's state as
  stored-name pairs; unmirrored '1' while MySQL lacks its latest change, else '').
]]
--- @include "now"
--- @include "token"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local t = readToken({ records = KEYS[3], waiting = KEYS[4] }, KEYS[2], ARGV[1])
if not t then return { R.MISSING } end
local reply = toldState(ARGV[1], t, epoch, { R.OK, '_now', tostring(nowMs()) })
if #ARGV > 1 then
  local fields = {}
  for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
  local versions = redis.call('HMGET', KEYS[5], unpack(fields))
  for i = 1, #fields do
    reply[#reply + 1] = '_catalog:' .. fields[i]
    reply[#reply + 1] = versions[i] or ''
  end
end
return reply
