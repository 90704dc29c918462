--[[
  Retires a claimed token after its payment committed: EXPIRED (COMPLETED),
  slot freed at once. `completedAt` is the payment's commit time, so Redis and
  the QUEUE_TOKEN row the payment wrote agree to the millisecond.

  KEYS[1] marker     (its value is the queue's epoch, carried by the mirror record)
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] heartbeat
  KEYS[5] active
  KEYS[6] accounts
  KEYS[7] stream
  KEYS[8] feed       expiries for the SSE fan-out

  ARGV[1] token
  ARGV[2] claim owner
  ARGV[3] completedAt (ms)
  ARGV[4] retention seconds

  Returns {R.OK}, or {R.NOT_OWNER} when the claim is not (or no longer) this owner's
  (also after a Redis loss: the token hash is gone, and QUEUE_TOKEN already says COMPLETED).
  A token that expired while its payment ran (left mid-payment) is rewritten as COMPLETED.
]]
--- @include "expire"

local epoch = redis.call('GET', KEYS[1])
local f = redis.call('HMGET', KEYS[2], 'claim', 'status', 'reason')
if not epoch or f[1] ~= ARGV[2] then return { R.NOT_OWNER } end
local k = { waiting = KEYS[3], heartbeat = KEYS[4], active = KEYS[5], accounts = KEYS[6], stream = KEYS[7],
  feed = KEYS[8], epoch = epoch }
if f[2] == 'READY' then
  expireToken(k, KEYS[2], ARGV[1], 'COMPLETED', ARGV[3], tonumber(ARGV[4]))
elseif f[2] == 'EXPIRED' and f[3] ~= 'COMPLETED' then
  -- It expired (left) while this payment ran; the payment committed, so that is its end.
  redis.call('HSET', KEYS[2], 'reason', 'COMPLETED', 'expiresAt', ARGV[3])
  mirror(k, KEYS[2])
end
return { R.OK }
