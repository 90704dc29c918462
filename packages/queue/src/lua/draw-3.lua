--[[
  Applies one slice of the pre-queue's drawn order (SPEC §8): every token of
  the slice still waiting takes the place the draw gave it (a permutation of
  the pre-queue's provisional places, drawn from a CSPRNG by the caller and
  already committed to QUEUE_TOKEN). The last slice marks the sale drawn, and
  admission may start.

  The order goes in slices (pre-queue-draw.ts) so that a pre-queue of any size
  never holds Redis for more than one slice's run. Until the last one, a place
  may be held by two tokens for a moment (one moved there, one not moved away
  yet): nobody is admitted before the sale is drawn, no position is shown in
  the pre-queue, the one lookup by place (liveTokenOf) tells the two apart by
  their accounts, and the idle sweep's cursor may pass the second of them by
  for one round.

  Nothing here is mirrored, and no version changes: every fan's QUEUE_TOKEN row
  already holds the drawn place under the version Redis has (the caller wrote the
  rows the mirror had not yet), so the token's older records, still in the stream,
  cannot write the provisional place back, and a slice applied twice (a copy that
  stopped mid-draw, then the next one) changes nothing more.

  KEYS[1] marker
  KEYS[2] waiting
  KEYS[3] sale

  ARGV[1] prefix of the WAITING token buckets
  ARGV[2] prefix of the account buckets (a WAITING token's account names it by its place)
  ARGV[3] '1' for the last slice (the sale is then drawn), else '0'
  ARGV[4..] token, place, token, place, ...

  Returns {R.OK, tokens placed}, {R.OK, 0} when already drawn, or {R.RECOVER}.
]]
--- @include "token"

if not redis.call('GET', KEYS[1]) then return { R.RECOVER } end
if redis.call('HGET', KEYS[3], 'drawn') == '1' then return { R.OK, 0 } end
local k = { waiting = KEYS[2], records = ARGV[1], accounts = ARGV[2] }
local placed = 0
for i = 4, #ARGV, 2 do
  local token, place = ARGV[i], ARGV[i + 1]
  local t = readWaiting(k, token)
  if t then
    -- The place is the waiting zset's score.
    redis.call('ZADD', KEYS[2], place, token)
    local accountsKey = accountKey(k, t.accountId)
    if entryNames(redis.call('HGET', accountsKey, t.accountId), token, t.place) then
      redis.call('HSET', accountsKey, t.accountId, place)
    end
    placed = placed + 1
  end
end
if ARGV[3] == '1' then redis.call('HSET', KEYS[3], 'drawn', '1') end
return { R.OK, placed }
