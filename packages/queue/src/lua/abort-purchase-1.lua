--[[
  Ends a payment that did not commit: gives the token's claim back (the token
  stays READY for the next try) and releases the seat locks this attempt holds.
  Only the attempt's owner can; a lock that lapsed and was taken by another
  payment, or a seat already SOLD, is left alone.

  KEYS[1] token hash
  ARGV[1] owner
  ARGV[2] seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:")
  ARGV[3..] seat ids

  Returns {R.OK} if the claim was this owner's, {R.NOT_OWNER} otherwise (its locks are released either way).
]]
--- @include "token"

for i = 3, #ARGV do
  local key = ARGV[2] .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
if tokenFields(KEYS[1], 'claim')[1] == ARGV[1] then
  deleteTokenFields(KEYS[1], 'claim', 'claimUntil')
  return { R.OK }
end
return { R.NOT_OWNER }
