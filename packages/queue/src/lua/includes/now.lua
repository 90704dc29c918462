-- Milliseconds from the Redis server clock: every gateway and booking copy
-- sees one clock, so rates and expiries hold cluster-wide.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
