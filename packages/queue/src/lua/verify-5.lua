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
-- A READY or EXPIRED token's told line straight from one HMGET of its hash, in
-- TOKEN_FIELDS order with the unmirrored mark last: the same line toldLine makes from
-- readToken's table, without building the table (most checks are of such tokens).
local stored = {}
local statusAt
for i = 1, #TOKEN_FIELDS do
  stored[i] = F[TOKEN_FIELDS[i]]
  if TOKEN_FIELDS[i] == 'status' then statusAt = i end
end
stored[#stored + 1] = F.unmirrored
local answers = {}
for i = 2 + n, #ARGV do
  local token = ARGV[i]
  local v = redis.call('HMGET', KEYS[2] .. token, unpack(stored))
  if v[statusAt] then
    local line = { token }
    for j = 1, #TOKEN_FIELDS do line[j + 1] = v[j] or '' end
    line[#line + 1] = epoch
    line[#line + 1] = v[#stored] or ''
    answers[#answers + 1] = table.concat(line, '|')
  else
    local t = readWaiting(k, token)
    answers[#answers + 1] = t and toldLine(token, t, epoch) or ''
  end
end
return { R.OK, tostring(nowMs()), versions, answers }
