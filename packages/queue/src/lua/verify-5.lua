--[[
  Reads tokens of one event for the booking API's token guard: each token's state,
  the server time to judge expiry, and (when ARGV names fields) those fields of the
  event's catalogue versions, so a cached catalogue answer is checked in the same
  round trip. The booking API sends together the checks of one event that came in
  during one turn of its event loop (QueueService.verify), so a burst of requests
  costs Redis one script, not one per request.

  KEYS[1] marker
  KEYS[2] token key base (a READY or EXPIRED token's hash is this .. token)
  KEYS[3] records    prefix of the WAITING token buckets
  KEYS[4] waiting
  KEYS[5] the event's catalogue versions hash (keys.ts catalogVersionsKey)

  ARGV[1]        n, the number of catalogue fields that follow
  ARGV[2..1+n]   fields of KEYS[5] to read (none: no read)
  ARGV[2+n..]    tokens

  Returns {R.RECOVER} or {R.OK, now, {version or '', ...}, {answer per token, in order}},
  a token's answer being '' for an unknown token, else its told line (includes/token.lua
  toldLine: token|TOKEN_FIELDS values|epoch|unmirrored, unmirrored '1' while MySQL lacks
  its latest change, else '').
]]
--- @include "now"
--- @include "token"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local k = { records = KEYS[3], waiting = KEYS[4] }
local n = tonumber(ARGV[1])
local versions = {}
if n > 0 then
  local fields = {}
  for i = 2, 1 + n do fields[#fields + 1] = ARGV[i] end
  local read = redis.call('HMGET', KEYS[5], unpack(fields))
  for i = 1, n do versions[i] = read[i] or '' end
end
local answers = {}
for i = 2 + n, #ARGV do
  local token = ARGV[i]
  answers[#answers + 1] = readToldLine(k, KEYS[2] .. token, token, epoch) or ''
end
return { R.OK, tostring(nowMs()), versions, answers }
