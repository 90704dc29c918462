--[[
  One read of an event's queue for the SSE fan-out and for polls (feed.ts): each
  gateway copy runs it once per tick for all its streams of the event, and once
  for all the polls of the event that came in while the previous read ran, so
  what Redis does grows neither with the open streams nor with the polls. From the head's place, the gaps
  (places of waiting tokens that expired, read from the feed) and a stream's own
  place, the copy computes the stream's position; the facts are the ones a poll
  gets (ticket.lua), so the ticket it builds is the one a poll would answer.
  Also marks the streaming tokens as seen (one ZADD per 3,000 into the streaming
  zset, which the admission tick's idle check reads), drops entries no copy
  has refreshed for a minute (streams that ended), and records the polled
  tokens as seen now, exactly as poll-7.lua does for one.

  KEYS[1] marker     (its value, the epoch: a new one means the queue was rebuilt)
  KEYS[2] waiting
  KEYS[3] feed       stream of expiries: t token, p place ('' when it was not waiting)
  KEYS[4] admitted
  KEYS[5] bucket
  KEYS[6] sale
  KEYS[7] streaming  zset token -> last refresh (ms) by a copy streaming it
  KEYS[8] records    prefix of the WAITING token buckets

  ARGV[1] the feed id read up to ('' for none: start at the end, no entries)
  ARGV[2] most entries to return
  ARGV[3] n, the number of streaming tokens that follow
  ARGV[4..3+n] streaming WAITING tokens to mark seen (none on most ticks)
  ARGV[4+n..] polled tokens to record as seen (a WAITING token's line; others are left alone)

  Returns {R.RECOVER} or {R.OK, epoch, headPlace ('' when nobody waits), drawn ('1' or ''),
  entriesAdded (ever, to the feed), lastId, facts {name, value, ...}, entries {id, token, place, ...}}.
]]
--- @include "now"
--- @include "sale"
--- @include "token"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local now = nowMs()
local s = readSale(KEYS[6])

local lastStreamed = 3 + tonumber(ARGV[3])
-- 3,000 members per ZADD: unpack() stops at 8,000 values (Lua's C stack in Redis).
for i = 4, lastStreamed, 3000 do
  local args = {}
  for j = i, math.min(i + 2999, lastStreamed) do
    args[#args + 1] = now
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', KEYS[7], unpack(args))
end

local k = { waiting = KEYS[2], records = KEYS[8] }
for i = lastStreamed + 1, #ARGV do
  local t = readWaitingLine(k, ARGV[i])
  if t then
    t.seen = now
    writeWaiting(k, ARGV[i], t)
  end
end

-- A copy refreshes its streams at least every 10 s; an entry a minute old belongs to no stream.
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - 60000)

local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')

local added, lastId = '0', '0-0'
if redis.call('EXISTS', KEYS[3]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = tostring(info[i + 1]) end
    if info[i] == 'last-generated-id' then lastId = info[i + 1] end
  end
end
local entries = {}
if ARGV[1] ~= '' then
  local read = redis.call('XRANGE', KEYS[3], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
  for i = 1, #read do
    local fields = read[i][2]
    local f = {}
    for j = 1, #fields, 2 do f[fields[j]] = fields[j + 1] end
    entries[#entries + 1] = read[i][1]
    entries[#entries + 1] = f.t or ''
    entries[#entries + 1] = f.p or ''
  end
  -- Read up to the last entry returned; the caller asks again for the rest.
  lastId = #read > 0 and read[#read][1] or ARGV[1]
end

local facts = { '_now', tostring(now),
  '_admitted60', tostring(redis.call('ZCOUNT', KEYS[4], now - 60000, '+inf')),
  '_firstAdmitAt', redis.call('HGET', KEYS[5], 'firstAdmitAt') or '',
  '_state', saleState(s, now), '_opensAt', s.opensAt or '', '_rate', s.admitPerSecond or '',
  '_idleMs', s.waitingIdleMs or '' }
return { R.OK, epoch, head[2] or '', s.drawn == '1' and '1' or '', added, lastId, facts, entries }
