--[[
  Reads a ticket; for a WAITING token also records a heartbeat, so a fan who
  keeps polling (or holds an SSE stream open) is never dropped as abandoned.

  KEYS[1] marker
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] heartbeat
  KEYS[5] admitted
  KEYS[6] bucket
  KEYS[7] sale       the event's sale settings (state, opening, per-event rate)

  ARGV[1] token
  ARGV[2] '1' to record a heartbeat, '0' to only read

  Returns {R.RECOVER}, {R.MISSING} or a ticket reply with the code R.OK.
]]
--- @include "now"
--- @include "ticket"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
if redis.call('EXISTS', KEYS[2]) == 0 then return { R.MISSING } end
local now = nowMs()
if ARGV[2] == '1' and redis.call('HGET', KEYS[2], 'status') == 'WAITING' then
  redis.call('ZADD', KEYS[4], 'XX', now, ARGV[1])
end
return ticketReply(R.OK, KEYS[2], ARGV[1], KEYS[3], KEYS[5], KEYS[6], now, readSale(KEYS[7]))
