--[[
  Compare-and-delete: releases a lock only for the owner that took it, so a
  slow holder whose lock already timed out cannot free someone else's.

  KEYS[1] lock key
  ARGV[1] owner

  Returns {R.OK} if released, {R.NOT_OWNER} otherwise.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { R.OK }
end
return { R.NOT_OWNER }
