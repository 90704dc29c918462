--[[
  Extends a lock's TTL while its owner still holds it (a long piece of work
  keeps its lock alive; a dead owner's lock runs out).

  KEYS[1] lock key
  ARGV[1] owner
  ARGV[2] new TTL (ms)

  Returns {R.OK} if extended, {R.NOT_OWNER} otherwise.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return { R.OK }
end
return { R.NOT_OWNER }
