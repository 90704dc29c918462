--[[
  After a refund committed: takes the SOLD marker off its seats so they can be
  bought again at once (a seat locked by a running payment is left alone).

  KEYS[1] marker (only routes the call to the event's slot; seat keys share its hash tag)
  ARGV[1] seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:")
  ARGV[2..] seat ids

  Returns {R.OK, released}.
]]
--- @include "seat"

local released = 0
for i = 2, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('GET', key) == SOLD then
    redis.call('DEL', key)
    released = released + 1
  end
end
return { R.OK, released }
