--[[
  One admission tick for an event; every gateway copy calls it on a timer.
  1. READY tokens past their expiry become EXPIRED (TIMEOUT), freeing slots,
     unless a payment holds a live claim on them.
  2. WAITING tokens without a heartbeat for waitingIdleMs become EXPIRED (ABANDONED).
  3. A token bucket on the Redis clock (capacity = one second of admissions,
     filling only while someone waits) admits from the head of the queue while
     READY stays under maxActive.
  Because the bucket lives in Redis, the rate holds for the whole cluster
  however many copies call this.

  KEYS[1] marker
  KEYS[2] waiting
  KEYS[3] heartbeat
  KEYS[4] active     zset token -> expiresAt (ms)
  KEYS[5] accounts
  KEYS[6] bucket     hash tokens, ts, firstAdmitAt
  KEYS[7] admitted
  KEYS[8] stream

  ARGV[1] token-key base
  ARGV[2] maxActive
  ARGV[3] admitPerSecond
  ARGV[4] activeTtlMs
  ARGV[5] waitingIdleMs
  ARGV[6] retention seconds for EXPIRED tokens
  ARGV[7] most tokens to move per step (bounds the script's run time)
  ARGV[8] mirror backlog bound: while the stream holds this many unmirrored
          entries (MySQL is behind or down), nobody is admitted, so what a
          Redis loss could undo stays bounded

  Returns {R.OK, admitted, timedOut, abandoned, activeCount, waitingCount}, or {R.RECOVER}.
]]
--- @include "now"
--- @include "expire"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local now = nowMs()
local k = { waiting = KEYS[2], heartbeat = KEYS[3], active = KEYS[4], accounts = KEYS[5], stream = KEYS[8],
  epoch = epoch }
local base = ARGV[1]
local maxActive = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local idle = tonumber(ARGV[5])
local retention = tonumber(ARGV[6])
local batch = tonumber(ARGV[7])

local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'WITHSCORES', 'LIMIT', 0, batch)
local timedOut = 0
for i = 1, #due, 2 do
  local tokenKey = base .. due[i]
  -- A payment in progress (a live claim) finishes first; its claim TTL bounds the delay.
  local claimUntil = tonumber(redis.call('HGET', tokenKey, 'claimUntil') or '0')
  if claimUntil <= now then
    expireToken(k, tokenKey, due[i], 'TIMEOUT', due[i + 1], retention)
    timedOut = timedOut + 1
  end
end

local idleTokens = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - idle, 'LIMIT', 0, batch)
for i = 1, #idleTokens do
  expireToken(k, base .. idleTokens[i], idleTokens[i], 'ABANDONED', now, retention)
end

local bucket = redis.call('HMGET', KEYS[6], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or 0
local last = tonumber(bucket[2]) or now
tokens = math.min(math.max(rate, 1), tokens + math.max(0, now - last) * rate / 1000)

local slots = maxActive - redis.call('ZCARD', KEYS[4])
local want = math.min(math.floor(tokens), slots, batch)
if redis.call('XLEN', KEYS[8]) >= tonumber(ARGV[8]) then want = 0 end
local admitted = 0
if want > 0 then
  local head = redis.call('ZPOPMIN', KEYS[2], want)
  for i = 1, #head, 2 do
    local token = head[i]
    local tokenKey = base .. token
    local expiresAt = now + ttl
    redis.call('HSET', tokenKey, 'status', 'READY', 'readyAt', now, 'expiresAt', expiresAt)
    redis.call('ZREM', KEYS[3], token)
    redis.call('ZADD', KEYS[4], expiresAt, token)
    redis.call('ZADD', KEYS[7], now, token)
    mirror(k, tokenKey)
    admitted = admitted + 1
  end
  tokens = tokens - admitted
  if admitted > 0 then redis.call('HSETNX', KEYS[6], 'firstAdmitAt', now) end
end
-- The bucket saves up only while someone waits: an idle queue does not bank a burst
-- for the next crowd, so admissions never run ahead of the configured rate.
if redis.call('ZCARD', KEYS[2]) == 0 then tokens = 0 end
redis.call('HSET', KEYS[6], 'tokens', tostring(tokens), 'ts', now)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - 60000)

return { R.OK, admitted, timedOut, #idleTokens, redis.call('ZCARD', KEYS[4]), redis.call('ZCARD', KEYS[2]) }
