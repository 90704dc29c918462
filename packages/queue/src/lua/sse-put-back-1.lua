--[[
  Puts a gateway copy's places back into a set of places after its lease had
  lapsed (sse-renew-copy-1.lua): other copies may have dropped them meanwhile.

  KEYS[1] the set of places (zset member -> 0)

  ARGV[1] how long an untouched set lives (ms)
  ARGV[2..] members

  Returns {R.OK, number of members put back}.
]]
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return { R.OK, #ARGV - 1 }
