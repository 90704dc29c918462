--[[
  Applies the pre-queue's drawn order (SPEC §8), once: every pre-queue token
  still waiting takes the place the draw gave it (a permutation of their
  provisional places, drawn from a CSPRNG by the caller and already committed
  to QUEUE_TOKEN), each change mirrored; then the sale is marked drawn and
  admission may start.

  KEYS[1] marker     (its value, the epoch, is stamped on the mirror records)
  KEYS[2] waiting
  KEYS[3] sale
  KEYS[4] stream

  ARGV[1] token-key base
  ARGV[2..] token, place, token, place, ...

  Returns {R.OK, tokens placed}, {R.OK, 0} when already drawn, or {R.RECOVER}.
]]
--- @include "mirror"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
if redis.call('HGET', KEYS[3], 'drawn') == '1' then return { R.OK, 0 } end
local k = { stream = KEYS[4], epoch = epoch }
local placed = 0
for i = 2, #ARGV, 2 do
  local token, place = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[2], token) then
    redis.call('ZADD', KEYS[2], place, token)
    redis.call('HSET', ARGV[1] .. token, 'place', place)
    mirror(k, ARGV[1] .. token)
    placed = placed + 1
  end
end
redis.call('HSET', KEYS[3], 'drawn', '1')
return { R.OK, placed }
