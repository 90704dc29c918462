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

  ARGV[1] prefix of the WAITING token buckets
  ARGV[2] prefix of the account buckets (a WAITING token's account names it by its place)
  ARGV[3..] token, place, token, place, ...

  Returns {R.OK, tokens placed}, {R.OK, 0} when already drawn, or {R.RECOVER}.
]]
--- @include "mirror"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
if redis.call('HGET', KEYS[3], 'drawn') == '1' then return { R.OK, 0 } end
local k = { waiting = KEYS[2], records = ARGV[1], accounts = ARGV[2], stream = KEYS[4], epoch = epoch }
local placed = 0
for i = 3, #ARGV, 2 do
  local token, place = ARGV[i], ARGV[i + 1]
  local t = readWaiting(k, token)
  if t then
    -- The place is the waiting zset's score; the line only counts the change.
    redis.call('ZADD', KEYS[2], place, token)
    local accountsKey = accountKey(k, t.accountId)
    if entryNames(redis.call('HGET', accountsKey, t.accountId), token, t.place) then
      redis.call('HSET', accountsKey, t.accountId, place)
    end
    t.place = place
    t.version = tonumber(t.version) + 1
    writeWaiting(k, token, t)
    mirrorState(k, token, t)
    placed = placed + 1
  end
end
redis.call('HSET', KEYS[3], 'drawn', '1')
return { R.OK, placed }
