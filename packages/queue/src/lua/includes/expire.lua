--- @include "mirror"

-- Most entries the SSE feed (k.feed) keeps; a gateway copy that falls further behind rebuilds.
local FEED_MAX = 20000

-- Moves a token to EXPIRED with a reason: out of every queue set, its account
-- free to join again, kept readable for `retention` seconds, change mirrored.
-- A WAITING token's line becomes a hash of its own here (k.records, k.waiting).
-- The expiry is also told to the SSE feed, with the token's place if it was
-- still waiting (a gap every gateway copy subtracts from the places behind it).
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
  local gap = redis.call('ZSCORE', k.waiting, token)
  redis.call('XADD', k.feed, 'MAXLEN', '~', FEED_MAX, '*', 't', token, 'p', gap or '')
  redis.call('ZREM', k.waiting, token)
  redis.call('ZREM', k.active, token)
  local accountsKey = accountKey(k, accountId)
  if entryNames(redis.call('HGET', accountsKey, accountId), token, place or nil) then
    redis.call('HDEL', accountsKey, accountId)
  end
  redis.call('HSET', tokenKey, F.status, 'EXPIRED', F.reason, reason, F.expiresAt, at)
  -- 'claim' stays: a payment that was running when the token expired (e.g. the fan
  -- pressed "leave" mid-payment) can still record itself as the reason (finish-purchase-8.lua).
  redis.call('HDEL', tokenKey, F.claimUntil)
  mirror(k, tokenKey, token)
  redis.call('EXPIRE', tokenKey, retention)
end
