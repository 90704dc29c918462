--- @include "mirror"

-- Most entries the SSE feed (k.feed) keeps; a gateway copy that falls further behind rebuilds.
local FEED_MAX = 20000

-- Moves a token to EXPIRED with a reason: out of every queue set, its account
-- free to join again, kept readable for `retention` seconds, change mirrored.
-- The expiry is also told to the SSE feed, with the token's place if it was
-- still waiting (a gap every copy subtracts from the places behind it).
local function expireToken(k, tokenKey, token, reason, at, retention)
  local place = redis.call('ZSCORE', k.waiting, token)
  redis.call('XADD', k.feed, 'MAXLEN', '~', FEED_MAX, '*', 't', token, 'p', place or '')
  redis.call('ZREM', k.waiting, token)
  redis.call('ZREM', k.heartbeat, token)
  redis.call('ZREM', k.active, token)
  local accountId = redis.call('HGET', tokenKey, 'accountId')
  if accountId and redis.call('HGET', k.accounts, accountId) == token then
    redis.call('HDEL', k.accounts, accountId)
  end
  redis.call('HSET', tokenKey, 'status', 'EXPIRED', 'reason', reason, 'expiresAt', at)
  -- 'claim' stays: a payment that was running when the token expired (e.g. the fan
  -- pressed "leave" mid-payment) can still record itself as the reason (complete-8.lua).
  redis.call('HDEL', tokenKey, 'claimUntil')
  mirror(k, tokenKey)
  redis.call('EXPIRE', tokenKey, retention)
end
