--[[
  Retires a claimed token after its payment committed: EXPIRED (COMPLETED),
  slot freed at once. `completedAt` is the payment's commit time, so Redis and
  the QUEUE_TOKEN row the payment wrote agree to the millisecond.

  KEYS[1] token hash
  KEYS[2] waiting
  KEYS[3] heartbeat
  KEYS[4] active
  KEYS[5] accounts
  KEYS[6] stream

  (No marker: after a Redis loss the token hash is gone, so the claim check
  below answers NOT_OWNER; QUEUE_TOKEN already says COMPLETED.)

  ARGV[1] token
  ARGV[2] claim owner
  ARGV[3] completedAt (ms)
  ARGV[4] retention seconds

  Returns {R.OK}, or {R.NOT_OWNER} when the claim is not (or no longer) this owner's.
  A token that expired while its payment ran (left mid-payment) is rewritten as COMPLETED.
]]
--- @include "expire"

local f = redis.call('HMGET', KEYS[1], 'claim', 'status', 'reason')
if f[1] ~= ARGV[2] then return { R.NOT_OWNER } end
if f[2] == 'READY' then
  local k = { waiting = KEYS[2], heartbeat = KEYS[3], active = KEYS[4], accounts = KEYS[5], stream = KEYS[6] }
  expireToken(k, KEYS[1], ARGV[1], 'COMPLETED', ARGV[3], tonumber(ARGV[4]))
elseif f[2] == 'EXPIRED' and f[3] ~= 'COMPLETED' then
  -- It expired (left) while this payment ran; the payment committed, so that is its end.
  redis.call('HSET', KEYS[1], 'reason', 'COMPLETED', 'expiresAt', ARGV[3])
  mirror(KEYS[6], KEYS[1])
end
return { R.OK }
