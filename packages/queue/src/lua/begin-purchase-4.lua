--[[
  Starts payments of one event, each in one step: claims a READY token for this
  attempt and locks every seat of its order, or does nothing. A seat whose sale
  already finished carries the SOLD marker (finish-purchase-9.lua), so the losers of
  a hot seat are answered here, from Redis, without touching MySQL. Seat keys share
  the event's hash tag, so claim and locks are one atomic step in one slot.

  The booking API sends together the attempts of one event that came in during one
  turn of its event loop (QueueService.beginPurchase, up to 200), so a hot seat's burst
  of racers costs Redis one script per turn, not one per racer. Attempts run in the
  order given, each as if it were a script of its own: a later one sees an earlier
  one's claim and locks (the same token again once an earlier attempt claimed it: BUSY;
  a seat an earlier attempt locked: SEAT_LOCKED). An attempt that fails with a Redis
  error (a write refused under maxmemory, an argument Redis rejects) is answered
  {R.FAILED, message} on its own, as its own script would have failed alone; the
  others are answered as usual.

  KEYS[1] marker
  KEYS[2] token key base (a READY or EXPIRED token's hash is this .. token; a WAITING
          token is a line in its bucket)
  KEYS[3] active
  KEYS[4] waiting

  ARGV    attempts, one after another, each:
            token, owner (unique per attempt: holds the claim and the seat locks),
            claim TTL (ms), seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:"),
            seat lock TTL (ms), n (seat count), then n seat ids, ascending

  Returns {R.RECOVER}, or {R.OK, reply, ...}: one reply per attempt, in order, each
  {R.MISSING}, {R.NOT_READY}, {R.EXPIRED}, {R.BUSY},
  {R.UNMIRRORED} (READY, but its admission is not in MySQL yet: the caller makes it
    durable, then asks again; a payment never starts on an admission a Redis loss could undo),
  {R.SEAT_TAKEN, seatId, ...} (some seat is sold: every seat of the order that is
    sold or held by another payment, so the fan learns all at once), or
  {R.SEAT_LOCKED, seatId, ...} (none sold: every seat another payment holds), or
  {R.OK, field, value, ...} (the token's state as stored-name pairs; claim taken, seats locked),
  {R.FAILED, message} (a Redis error in this attempt: what it wrote before the error stays,
    as with a script of its own; its locks and claim lapse with their TTLs).
]]
--- @include "now"
--- @include "seat"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local now = nowMs()

local function begin(token, owner, claimTtl, seatBase, lockTtl, seatIds)
  local tokenKey = KEYS[2] .. token
  local f = tokenFields(tokenKey, 'status', 'claim', 'claimUntil', 'unmirrored')
  if not f[1] then
    if redis.call('ZSCORE', KEYS[4], token) then return { R.NOT_READY } end
    return { R.MISSING }
  end
  local expiresAt = redis.call('ZSCORE', KEYS[3], token)
  if f[1] ~= S.READY or not expiresAt or tonumber(expiresAt) <= now then return { R.EXPIRED } end
  if f[4] then return { R.UNMIRRORED } end
  if f[2] and f[2] ~= owner and (tonumber(f[3]) or 0) > now then return { R.BUSY } end
  -- A seat still locked by this token's previous attempt, whose claim has lapsed (its copy
  -- died mid-payment), is this fan's own: taken over with the claim, not reported as
  -- another user's. MySQL's live-seat UNIQUE key and the paid check still stop a late
  -- commit of that attempt from selling twice.
  local previous = f[2]

  local unavailable = {}
  local anySold = false
  for _, seatId in ipairs(seatIds) do
    local holder = redis.call('GET', seatBase .. seatId)
    if holder == SOLD then
      anySold = true
      unavailable[#unavailable + 1] = seatId
    elseif holder and holder ~= owner and holder ~= previous then
      unavailable[#unavailable + 1] = seatId
    end
  end
  if #unavailable > 0 then
    table.insert(unavailable, 1, anySold and R.SEAT_TAKEN or R.SEAT_LOCKED)
    return unavailable
  end

  for _, seatId in ipairs(seatIds) do redis.call('SET', seatBase .. seatId, owner, 'PX', lockTtl) end
  setTokenFields(tokenKey, 'claim', owner, 'claimUntil', now + claimTtl)
  return statePairs(token, readToken({}, tokenKey, token), { R.OK })
end

local replies = { R.OK }
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i + 5])
  -- A malformed list is the caller's bug: fail the whole script loudly, before any write of it.
  if not n or i + 5 + n > #ARGV then
    return redis.error_reply('begin-purchase: attempt at ARGV[' .. i .. '] does not list its seats')
  end
  local seatIds = {}
  for j = 1, n do seatIds[j] = ARGV[i + 5 + j] end
  local ok, reply = pcall(begin, ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], seatIds)
  if not ok then
    reply = { R.FAILED, type(reply) == 'table' and tostring(reply.err) or tostring(reply) }
  end
  replies[#replies + 1] = reply
  i = i + 6 + n
end
return replies
