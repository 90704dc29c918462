--[[
  Reads a ticket; for a WAITING token also records when it was seen, so a fan
  who keeps polling (or holds an SSE stream open) is never dropped as abandoned.

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] records    prefix of the WAITING token buckets
  KEYS[5] admitted
  KEYS[6] bucket
  KEYS[7] sale       the event's sale settings (state, opening, per-event rate)

  ARGV[1] token
  ARGV[2] '1' to record the fan as seen now, '0' to only read

  Returns {R.RECOVER}, {R.MISSING} or a ticket reply with the code R.OK.
]]
--- @include "now"
--- @include "ticket"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local k = { waiting = KEYS[3], records = KEYS[4] }
local t = readToken(k, KEYS[2], ARGV[1])
if not t then return { R.MISSING } end
local now = nowMs()
if ARGV[2] == '1' and t.status == S.WAITING then
  t.seen = now
  writeWaiting(k, ARGV[1], t)
end
return ticketReply(R.OK, t, ARGV[1], KEYS[3], KEYS[5], KEYS[6], now, readSale(KEYS[7]), epoch)
