--[[
  Keeps a running payment's claim and seat locks alive (a slow transaction must
  not lose them to their TTLs); only what this owner still holds is extended.

  KEYS[1] token hash
  ARGV[1] owner
  ARGV[2] claim TTL (ms)
  ARGV[3] seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:")
  ARGV[4] seat lock TTL (ms)
  ARGV[5..] seat ids

  Returns {R.OK} while the claim is this owner's, {R.NOT_OWNER} otherwise.
]]
--- @include "now"
--- @include "token"

for i = 5, #ARGV do
  local key = ARGV[3] .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[4]) end
end
if tokenFields(KEYS[1], 'claim')[1] ~= ARGV[1] then return { R.NOT_OWNER } end
setTokenFields(KEYS[1], 'claimUntil', nowMs() + tonumber(ARGV[2]))
return { R.OK }
