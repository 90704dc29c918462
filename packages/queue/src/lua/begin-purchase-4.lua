--[[
  Starts a payment in one step: claims a READY token for this attempt and locks
  every seat of the order, or does nothing. A seat whose sale already finished
  carries the SOLD marker (finish-purchase-9.lua), so the losers of a hot seat
  are answered here, from Redis, without touching MySQL. Seat keys share the
  event's hash tag, so claim and locks are one atomic step in one slot.

  KEYS[1] marker
  KEYS[2] token hash (READY and EXPIRED tokens have one; a WAITING token is a line in its bucket)
  KEYS[3] active
  KEYS[4] waiting

  ARGV[1] token
  ARGV[2] owner (unique per attempt): holds the claim and the seat locks
  ARGV[3] claim TTL (ms)
  ARGV[4] seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:")
  ARGV[5] seat lock TTL (ms)
  ARGV[6..] seat ids, ascending

  Returns {R.RECOVER}, {R.MISSING}, {R.NOT_READY}, {R.EXPIRED}, {R.BUSY},
  {R.UNMIRRORED} (READY, but its admission is not in MySQL yet: the caller makes it
    durable, then asks again; a payment never starts on an admission a Redis loss could undo),
  {R.SEAT_TAKEN, seatId, ...} (some seat is sold: every seat of the order that is
    sold or held by another payment, so the fan learns all at once), or
  {R.SEAT_LOCKED, seatId, ...} (none sold: every seat another payment holds), or
  {R.OK, field, value, ...} (the token's state as stored-name pairs; claim taken, seats locked).
]]
--- @include "now"
--- @include "seat"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local f = tokenFields(KEYS[2], 'status', 'claim', 'claimUntil', 'unmirrored')
if not f[1] then
  if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return { R.NOT_READY } end
  return { R.MISSING }
end
local now = nowMs()
local expiresAt = redis.call('ZSCORE', KEYS[3], ARGV[1])
if f[1] ~= S.READY or not expiresAt or tonumber(expiresAt) <= now then return { R.EXPIRED } end
if f[4] then return { R.UNMIRRORED } end
if f[2] and f[2] ~= ARGV[2] and (tonumber(f[3]) or 0) > now then return { R.BUSY } end
-- A seat still locked by this token's previous attempt, whose claim has lapsed (its copy
-- died mid-payment), is this fan's own: taken over with the claim, not reported as
-- another user's. MySQL's live-seat UNIQUE key and the paid check still stop a late
-- commit of that attempt from selling twice.
local previous = f[2]

local unavailable = {}
local anySold = false
for i = 6, #ARGV do
  local holder = redis.call('GET', ARGV[4] .. ARGV[i])
  if holder == SOLD then
    anySold = true
    unavailable[#unavailable + 1] = ARGV[i]
  elseif holder and holder ~= ARGV[2] and holder ~= previous then
    unavailable[#unavailable + 1] = ARGV[i]
  end
end
if #unavailable > 0 then
  table.insert(unavailable, 1, anySold and R.SEAT_TAKEN or R.SEAT_LOCKED)
  return unavailable
end

for i = 6, #ARGV do redis.call('SET', ARGV[4] .. ARGV[i], ARGV[2], 'PX', ARGV[5]) end
setTokenFields(KEYS[2], 'claim', ARGV[2], 'claimUntil', now + tonumber(ARGV[3]))
return statePairs(ARGV[1], readToken({}, KEYS[2], ARGV[1]), { R.OK })
