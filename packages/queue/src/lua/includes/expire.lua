--- @include "mirror"

-- Moves a token to EXPIRED with a reason: out of every queue set, its account
-- free to join again, kept readable for `retention` seconds, change mirrored.
local function expireToken(k, tokenKey, token, reason, at, retention)
  redis.call('ZREM', k.waiting, token)
  redis.call('ZREM', k.heartbeat, token)
  redis.call('ZREM', k.active, token)
  local accountId = redis.call('HGET', tokenKey, 'accountId')
  if accountId and redis.call('HGET', k.accounts, accountId) == token then
    redis.call('HDEL', k.accounts, accountId)
  end
  redis.call('HSET', tokenKey, 'status', 'EXPIRED', 'reason', reason, 'expiresAt', at)
  -- 'claim' stays: a payment that was running when the token expired (e.g. the fan
  -- pressed "leave" mid-payment) can still record itself as the reason (complete-7.lua).
  redis.call('HDEL', tokenKey, 'claimUntil')
  mirror(k, tokenKey)
  redis.call('EXPIRE', tokenKey, retention)
end
