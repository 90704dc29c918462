--[[
  Takes a place for one open SSE stream in a set of places (a token's or a
  client address's, sse-leases.ts) unless the set is full. A member is
  `<gateway copy id>:<n>`; what keeps it alive is its copy's lease in the copies
  registry (sse-renew-copy-1.lua), so a set that is full only of members of dead
  copies is emptied of them first (the caller names the dead copies).

  KEYS[1] the set of places (zset member -> 0)

  ARGV[1] member
  ARGV[2] most places in the set
  ARGV[3] how long an untouched set lives (ms): a dead copy's leftovers in a set nobody asks for again
  ARGV[4..] ids of dead gateway copies whose members go first

  Returns {R.OK} (taken), or {R.FULL, member, ...} (the members holding the places).
]]
if #ARGV > 3 then
  local dead = {}
  for i = 4, #ARGV do dead[ARGV[i]] = true end
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if dead[string.match(member, '^(.*):[^:]*$')] then redis.call('ZREM', KEYS[1], member) end
  end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local full = redis.call('ZRANGE', KEYS[1], 0, -1)
  table.insert(full, 1, R.FULL)
  return full
end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { R.OK }
