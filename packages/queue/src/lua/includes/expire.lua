--- @include "mirror"

-- Moves a token to EXPIRED with a reason: out of every queue set, its account
-- free to join again, kept readable for `retention` seconds, change mirrored.
-- A WAITING token's line becomes a hash of its own here (k.records, k.waiting).
local function expireToken(k, tokenKey, token, reason, at, retention)
  local accountId = redis.call('HGET', tokenKey, F.accountId)
  local place = redis.call('HGET', tokenKey, F.place)
  if not accountId then
    local t = readWaiting(k, token)
    if not t then return end
    redis.call('HDEL', recordKey(k, token), token)
    redis.call('HSET', tokenKey, F.accountId, t.accountId, F.place, t.place, F.issuedAt, t.issuedAt,
      F.version, t.version)
    accountId, place = t.accountId, t.place
  end
  redis.call('ZREM', k.waiting, token)
  redis.call('ZREM', k.active, token)
  local accountsKey = accountKey(k, accountId)
  if entryNames(redis.call('HGET', accountsKey, accountId), token, place or nil) then
    redis.call('HDEL', accountsKey, accountId)
  end
  redis.call('HSET', tokenKey, F.status, 'EXPIRED', F.reason, reason, F.expiresAt, at)
  -- 'claim' stays: a payment that was running when the token expired (e.g. the fan
  -- pressed "leave" mid-payment) can still record itself as the reason (finish-purchase-7.lua).
  redis.call('HDEL', tokenKey, F.claimUntil)
  mirror(k, tokenKey, token)
  redis.call('EXPIRE', tokenKey, retention)
end
