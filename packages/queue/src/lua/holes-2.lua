--[[
  The places in [from, to] that no waiting token holds (left, abandoned, admitted,
  or never issued before a rebuild), as ranges: how the SSE fan-out and the polls
  (feed.ts) learn the gaps ahead of their tokens when the feed starts or after a
  rebuild or draw.
  The caller walks a long queue in bounded slices (to - from small), so no call
  blocks Redis for long; the feed's later entries cover what changes between slices.

  A waiting queue is mostly held places, so the slice is counted before it is listed:
  a range whose ZCOUNT is its length has no gap, one whose ZCOUNT is 0 is one gap, and
  only a range with both is halved, down to SMALL places, which are listed. Listing
  every member of a 10,000-place slice (a token string and a score each) took ~10 ms of
  Redis on a 2-core AMD EPYC; a slice without gaps is one ZCOUNT. A slice with gaps
  everywhere costs about what listing it did (the ZCOUNTs on top are O(log n) each).
  Two tokens share a place only between the slices of a pre-queue draw, when a count
  can hide a gap; the draw's end makes every feed walk the queue again anyway.

  KEYS[1] marker
  KEYS[2] waiting

  ARGV[1] from (place)
  ARGV[2] to (place)

  Returns {R.RECOVER} or {R.OK, epoch, first, last, first, last, ...} (inclusive ranges,
  ascending, adjacent ones joined).
]]

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local waiting = KEYS[2]
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local SMALL = 64
local reply = { R.OK, epoch }

local function gap(first, last)
  local n = #reply
  if n > 2 and reply[n] == first - 1 then
    reply[n] = last
  else
    reply[n + 1] = first
    reply[n + 2] = last
  end
end

local function list(lo, hi)
  local held = redis.call('ZRANGEBYSCORE', waiting, lo, hi, 'WITHSCORES')
  local expected = lo
  for i = 2, #held, 2 do
    local place = tonumber(held[i])
    if place > expected then gap(expected, place - 1) end
    expected = place + 1
  end
  if expected <= hi then gap(expected, hi) end
end

local function scan(lo, hi)
  local count = redis.call('ZCOUNT', waiting, lo, hi)
  if count == hi - lo + 1 then return end
  if count == 0 then return gap(lo, hi) end
  if hi - lo < SMALL then return list(lo, hi) end
  local mid = math.floor((lo + hi) / 2)
  scan(lo, mid)
  scan(mid + 1, hi)
end

if from <= to then scan(from, to) end
return reply
