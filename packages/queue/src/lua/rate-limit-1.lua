--[[
  Counts one client's requests in a fixed window (the gateway's token-issuance limit):
  the requests of one turn of a copy's event loop are added at once, so a burst from
  one address costs one script, not one per request (rate-limit-counters.ts).

  KEYS[1] the client's counter (rateLimitPrefix .. route .. client key)

  ARGV[1] window (ms)
  ARGV[2] requests to add (≥ 1)

  Returns {count after adding, ms left in the window}. The window starts with the
  counter's first request; a counter found without an expiry (written by something
  else) gets one, so no client stays limited forever.
]]
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return { count, left }
