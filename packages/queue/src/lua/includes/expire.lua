--- @include "mirror"

-- Most entries the SSE feed (k.feed) keeps; a gateway copy that falls further behind rebuilds.
local FEED_MAX = 20000

-- Moves a token to EXPIRED with a reason: out of every queue set, its account
-- free to join again, kept readable for `retention` seconds, change mirrored.
-- A WAITING token's line becomes a hash of its own here (k.records, k.waiting).
-- The expiry is also told to the SSE feed, with the token's place if it was
-- still waiting (a gap every gateway copy subtracts from the places behind it).
-- `committed`: see mirror (includes/mirror.lua).
local function expireToken(k, tokenKey, token, reason, at, retention, committed)
  local f = tokenFields(tokenKey, 'accountId', 'place')
  local accountId, place = f[1], f[2]
  if accountId then
    setTokenFields(tokenKey, 'status', S.EXPIRED, 'reason', reason, 'expiresAt', at)
    -- 'claim' stays: a payment that was running when the token expired (e.g. the fan
    -- pressed "leave" mid-payment) can still record itself as the reason (finish-purchase-9.lua).
    deleteTokenFields(tokenKey, 'claimUntil')
  else
    local t = readWaiting(k, token)
    if not t then return end
    t.status, t.reason, t.expiresAt = S.EXPIRED, reason, at
    toTokenHash(k, tokenKey, token, t)
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
  mirror(k, tokenKey, token, committed)
  redis.call('EXPIRE', tokenKey, retention)
end
