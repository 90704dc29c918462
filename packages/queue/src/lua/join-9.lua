--[[
  Joins an event's queue, or returns the account's live ticket for it.

  KEYS[1] marker     (absent => Redis lost the queue; caller must recover first)
  KEYS[2] seq        FIFO place counter
  KEYS[3] waiting    zset token -> place
  KEYS[4] records    prefix of the WAITING token buckets (keys.ts)
  KEYS[5] accounts   prefix of the account buckets: accountId -> live token (a WAITING one by its place)
  KEYS[6] stream     mirror stream
  KEYS[7] admitted   zset token -> admitted at (ms), last minute
  KEYS[8] bucket     admission token bucket
  KEYS[9] sale       the event's sale settings (SPEC §8)

  ARGV[1] token-key base ("<prefix>{q:<eventId>}:t:"; token hashes share the hash tag)
  ARGV[2] new token
  ARGV[3] accountId
  ARGV[4] mirror backlog bound: with this many unmirrored entries in the stream
          (MySQL behind or down), no new token is issued

  The reply also carries '_epoch' (the marker's value): the joining request
  makes the ticket durable in MySQL under that epoch before answering; a new
  ticket's reply also carries '_entry', its mirror stream entry, which the
  joining request deletes once its own write has committed.

  A new token is issued only while the sale takes joins (PRE_QUEUE, OPEN, PAUSED);
  during the pre-queue its place is provisional (the draw at opening reorders
  places 1..prequeueLast), and the highest such place is kept as prequeueLast.

  Returns {R.RECOVER}, {R.BACKLOG}, {R.SALE_NOT_OPEN, opensAt}, {R.SOLD_OUT},
  {R.SALE_CLOSED}, or a ticket reply whose code is R.CREATED or R.EXISTING.
]]
--- @include "now"
--- @include "mirror"
--- @include "ticket"
--- @include "sale"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local now = nowMs()
local s = readSale(KEYS[9])
local k = { waiting = KEYS[3], records = KEYS[4], accounts = KEYS[5], stream = KEYS[6], epoch = epoch }
local accountsKey = accountKey(k, ARGV[3])

local function reply(code, token, t)
  return ticketReply(code, t, token, KEYS[3], KEYS[7], KEYS[8], now, s, epoch)
end

local existing, entry = liveTokenOf(k, ARGV[3])
if existing then
  local t = readToken(k, ARGV[1] .. existing, existing)
  if t and t.status == S.WAITING then
    -- Joining again counts as being seen, like a poll.
    t.seen = now
    writeWaiting(k, existing, t)
    return reply(R.EXISTING, existing, t)
  end
  if t and t.status == S.READY then return reply(R.EXISTING, existing, t) end
end
if entry then redis.call('HDEL', accountsKey, ARGV[3]) end

local state = saleState(s, now)
if state == SALE.SCHEDULED then return { R.SALE_NOT_OPEN, s.opensAt or '' } end
if state == SALE.SOLD_OUT then return { R.SOLD_OUT } end
if state == SALE.CLOSED then return { R.SALE_CLOSED } end
if redis.call('XLEN', KEYS[6]) >= tonumber(ARGV[4]) then return { R.BACKLOG } end
local place = redis.call('INCR', KEYS[2])
if state == SALE.PRE_QUEUE and now < tonumber(s.opensAt) then redis.call('HSET', KEYS[9], 'prequeueLast', place) end
local token = ARGV[2]
local t = { status = S.WAITING, accountId = ARGV[3], place = place, issuedAt = now, seen = now, version = 1 }
writeWaiting(k, token, t)
redis.call('ZADD', KEYS[3], place, token)
redis.call('HSET', accountsKey, ARGV[3], place)
local r = reply(R.CREATED, token, t)
-- The join writes its own row before answering (DurableTickets), then deletes this entry,
-- so the mirror does not write the same row a second time.
r[#r + 1] = '_entry'
r[#r + 1] = mirrorState(k, token, t)
return r
