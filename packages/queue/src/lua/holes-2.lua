--[[
  The places in [from, to] that no waiting token holds (left, abandoned, admitted,
  or never issued before a rebuild), as ranges: how the SSE fan-out and the polls
  (feed.ts) learn the gaps ahead of their tokens when the feed starts or after a
  rebuild or draw.
  The caller walks a long queue in bounded slices (to - from small), so no call
  blocks Redis for long; the feed's later entries cover what changes between slices.

  KEYS[1] marker
  KEYS[2] waiting

  ARGV[1] from (place)
  ARGV[2] to (place)

  Returns {R.RECOVER} or {R.OK, epoch, first, last, first, last, ...} (inclusive ranges).
]]

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('ZRANGEBYSCORE', KEYS[2], from, to, 'WITHSCORES')
local reply = { R.OK, epoch }
local expected = from
for i = 2, #held, 2 do
  local place = tonumber(held[i])
  if place > expected then
    reply[#reply + 1] = expected
    reply[#reply + 1] = place - 1
  end
  expected = place + 1
end
if expected <= to then
  reply[#reply + 1] = expected
  reply[#reply + 1] = to
end
return reply
