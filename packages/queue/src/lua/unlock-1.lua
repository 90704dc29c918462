--[[
  Compare-and-delete: releases a lock only for the owner that took it, so a
  slow holder whose lock already timed out cannot free someone else's.

  KEYS[1] lock key
  ARGV[1] owner

  Returns 1 if released, 0 otherwise.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
