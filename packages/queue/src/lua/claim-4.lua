--[[
  Claims a READY token for one payment attempt. While the claim holds, no
  other request can pay with the token; the claim ends with complete (the
  token expires as COMPLETED), release (payment failed, token stays READY),
  or its own TTL (the claimant died).

  KEYS[1] marker
  KEYS[2] token hash (READY and EXPIRED tokens have one; a WAITING token is a line in its bucket)
  KEYS[3] active
  KEYS[4] waiting

  ARGV[1] token
  ARGV[2] claim owner (unique per attempt)
  ARGV[3] claim TTL (ms)

  Returns {R.RECOVER}, {R.MISSING}, {R.NOT_READY}, {R.EXPIRED}, {R.BUSY} or {R.OK, field, value, ...}
  (the token's state as stored-name pairs).
]]
--- @include "now"
--- @include "token"

if redis.call('EXISTS', KEYS[1]) == 0 then return { R.RECOVER } end
local f = redis.call('HMGET', KEYS[2], F.status, F.claim, F.claimUntil)
if not f[1] then
  if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return { R.NOT_READY } end
  return { R.MISSING }
end
local now = nowMs()
local expiresAt = redis.call('ZSCORE', KEYS[3], ARGV[1])
if f[1] ~= 'READY' or not expiresAt or tonumber(expiresAt) <= now then return { R.EXPIRED } end
if f[2] and f[2] ~= ARGV[2] and (tonumber(f[3]) or 0) > now then return { R.BUSY } end
redis.call('HSET', KEYS[2], F.claim, ARGV[2], F.claimUntil, now + tonumber(ARGV[3]))
return statePairs(ARGV[1], readToken({}, KEYS[2], ARGV[1]), { R.OK })
