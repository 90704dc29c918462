--[[
  One admission tick for an event; every gateway copy calls it on a timer.
  The event's sale settings (KEYS[9]) decide what the tick may do (SPEC §8):
  only an OPEN sale admits; SOLD_OUT and CLOSED end every WAITING ticket (reason
  SOLD_OUT / SALE_CLOSED, a batch per tick); per-event overrides of the rate,
  cap, READY window and idle window replace the defaults passed in ARGV.
  1. READY tokens past their expiry become EXPIRED (TIMEOUT), freeing slots,
     unless a payment holds a live claim on them.
  2. WAITING tokens not seen (polled, or streamed over SSE) for waitingIdleMs become EXPIRED (ABANDONED),
     found two ways: a sweep walks the waiting zset from a cursor (the bucket's
     'sweep' field, a place), `batch` tokens at a time, wrapping to the head at the
     end, as often as it takes to pass over the queue once per eighth of the idle
     window (the bucket's 'sweepAt': when the next batch is due, for every copy); and
     a token at the head that is idle is dropped instead of admitted, so an idle fan
     never takes a READY slot. With N waiting, a tick every T ms (per gateway copy)
     and batch B, an idle fan is dropped at most
     waitingIdleMs + max(waitingIdleMs / 8, ceil(N / B) * T) + T after its last poll.
  3. A token bucket on the Redis clock (capacity = one second of admissions,
     filling only while someone waits) admits from the head of the queue while
     READY stays under maxActive. An admitted token leaves its WAITING line for a
     hash of its own.
  Because the bucket lives in Redis, the rate holds for the whole cluster
  however many copies call this.

  KEYS[1] marker
  KEYS[2] waiting
  KEYS[3] records    prefix of the WAITING token buckets
  KEYS[4] active     zset token -> expiresAt (ms)
  KEYS[5] accounts   prefix of the account buckets
  KEYS[6] bucket     hash tokens, ts, filling, firstAdmitAt, sweep, sweepAt
  KEYS[7] admitted
  KEYS[8] stream
  KEYS[9] sale       the event's sale settings
  KEYS[10] feed      expiries for the SSE fan-out (includes/expire.lua)
  KEYS[11] streaming zset token -> last refresh (ms) by a gateway copy streaming it (SSE):
                     a fan with an open stream is seen, though it never polls

  ARGV[1] token-key base
  ARGV[2] maxActive       (default; the event's maxActive wins)
  ARGV[3] admitPerSecond  (default; likewise)
  ARGV[4] activeTtlMs     (default; likewise)
  ARGV[5] waitingIdleMs   (default; likewise)
  ARGV[6] retention seconds for EXPIRED tokens
  ARGV[7] most tokens to move (or sweep) per step (bounds the script's run time)
  ARGV[8] mirror backlog bound: while the stream holds this many unmirrored
          entries (MySQL is behind or down), nobody is admitted, so what a
          Redis loss could undo stays bounded

  Returns {R.OK, admitted, timedOut, abandoned, activeCount, waitingCount, state, ended,
  drawDue, nextTickIn} (ended: WAITING tickets ended by sell-out or closing; drawDue: 1
  when the sale has opened and its pre-queue waits for the draw; nextTickIn: ms until a
  tick can next do something if the sale hash does not change, -1 for "not until it
  does"), or {R.RECOVER}.
]]
--- @include "now"
--- @include "expire"
--- @include "sale"

local epoch = redis.call('GET', KEYS[1])
if not epoch then return { R.RECOVER } end
local now = nowMs()
local k = { waiting = KEYS[2], records = KEYS[3], active = KEYS[4], accounts = KEYS[5], stream = KEYS[8],
  feed = KEYS[10], epoch = epoch }
local base = ARGV[1]
local s = readSale(KEYS[9])
local state = saleState(s, now)
local maxActive = saleSetting(s, 'maxActive', ARGV[2])
local rate = saleSetting(s, 'admitPerSecond', ARGV[3])
local ttl = saleSetting(s, 'activeTtlMs', ARGV[4])
local idle = saleSetting(s, 'waitingIdleMs', ARGV[5])
local retention = tonumber(ARGV[6])
local batch = tonumber(ARGV[7])

local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'WITHSCORES', 'LIMIT', 0, batch)
local timedOut = 0
for i = 1, #due, 2 do
  local tokenKey = base .. due[i]
  -- A payment in progress (a live claim) finishes first; its claim TTL bounds the delay.
  local claimUntil = tonumber(tokenFields(tokenKey, 'claimUntil')[1] or '0')
  if claimUntil <= now then
    expireToken(k, tokenKey, due[i], X.TIMEOUT, due[i + 1], retention)
    timedOut = timedOut + 1
  end
end

-- Idle: neither polled nor streamed (feed-8.lua refreshes streaming fans and records polled ones) for the idle window.
local function isIdle(token, t)
  if now - (tonumber(t.seen) or 0) < idle then return false end
  local streamed = redis.call('ZSCORE', KEYS[11], token)
  return not streamed or now - tonumber(streamed) >= idle
end

-- The idle sweep: when due, the next `batch` waiters from the cursor, then the cursor moves
-- on. It is due often enough to pass over the whole queue once per eighth of the idle
-- window (or on every tick, when a batch per tick cannot keep up), and never more often:
-- visiting every waiter on every tick of every copy cost Redis ~20,000 commands a second
-- for 30,000 idle fans. The due time is shared, so copies do not add sweeps.
local abandoned = 0
local sweepState = redis.call('HMGET', KEYS[6], 'sweep', 'sweepAt')
if now >= (tonumber(sweepState[2]) or 0) then
  local swept = redis.call('ZRANGEBYSCORE', KEYS[2], sweepState[1] or '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, batch)
  for i = 1, #swept, 2 do
    local t = readWaiting(k, swept[i])
    if t and isIdle(swept[i], t) then
      expireToken(k, base .. swept[i], swept[i], X.ABANDONED, now, retention)
      abandoned = abandoned + 1
    end
  end
  local batchesPerPass = math.max(1, math.ceil(redis.call('ZCARD', KEYS[2]) / batch))
  redis.call('HSET', KEYS[6], 'sweep', #swept < 2 * batch and '-inf' or '(' .. swept[#swept],
    'sweepAt', now + math.floor(idle / 8 / batchesPerPass))
end

local ended = 0
if state == SALE.SOLD_OUT or state == SALE.CLOSED then
  local reason = state == SALE.SOLD_OUT and X.SOLD_OUT or X.SALE_CLOSED
  local gone = redis.call('ZRANGE', KEYS[2], 0, batch - 1)
  for i = 1, #gone do expireToken(k, base .. gone[i], gone[i], reason, now, retention) end
  ended = #gone
end

-- The bucket fills only between two ticks that both found an OPEN sale with someone
-- waiting ('filling', written by the earlier one). A sale nobody waited for is not ticked
-- every interval (the gateway wakes it on a join), nor is a paused or unopened one, and the
-- time they sat unticked must not come back as a burst when the crowd arrives, the sale
-- resumes or it opens: the first tick that finds them gets one admission's worth at most.
local bucket = redis.call('HMGET', KEYS[6], 'tokens', 'ts', 'filling')
local tokens = tonumber(bucket[1]) or 0
local last = tonumber(bucket[2]) or now
local elapsed = math.max(0, now - last)
if bucket[3] ~= '1' then elapsed = math.min(elapsed, 1000 / math.max(rate, 1)) end
tokens = math.min(math.max(rate, 1), tokens + elapsed * rate / 1000)

local slots = maxActive - redis.call('ZCARD', KEYS[4])
local want = math.min(math.floor(tokens), slots, batch)
if state ~= SALE.OPEN then want = 0 end
if redis.call('XLEN', KEYS[8]) >= tonumber(ARGV[8]) then want = 0 end
local admitted = 0
local examined = 0
while admitted < want and examined < batch do
  local head = redis.call('ZRANGE', KEYS[2], 0, math.min(want - admitted, batch - examined) - 1)
  if #head == 0 then break end
  for i = 1, #head do
    local token = head[i]
    local tokenKey = base .. token
    local t = readWaiting(k, token)
    examined = examined + 1
    if not t then
      redis.call('ZREM', KEYS[2], token) -- a place without a line: nothing to admit
    elseif isIdle(token, t) then
      expireToken(k, tokenKey, token, X.ABANDONED, now, retention)
      abandoned = abandoned + 1
    else
      local expiresAt = now + ttl
      redis.call('ZREM', KEYS[2], token)
      t.status, t.readyAt, t.expiresAt = S.READY, now, expiresAt
      toTokenHash(k, tokenKey, token, t)
      redis.call('ZADD', KEYS[4], expiresAt, token)
      redis.call('ZADD', KEYS[7], now, token)
      -- Out of the waiting zset, the token is named by itself in its account's entry.
      local accountsKey = accountKey(k, t.accountId)
      if entryNames(redis.call('HGET', accountsKey, t.accountId), token, t.place) then
        redis.call('HSET', accountsKey, t.accountId, token)
      end
      mirror(k, tokenKey, token)
      admitted = admitted + 1
    end
  end
end
tokens = tokens - admitted
if admitted > 0 then redis.call('HSETNX', KEYS[6], 'firstAdmitAt', now) end
-- The bucket saves up only while someone waits: an idle queue does not bank a burst
-- for the next crowd, so admissions never run ahead of the configured rate.
local filling = redis.call('ZCARD', KEYS[2]) > 0 and state == SALE.OPEN
if not filling then tokens = 0 end
redis.call('HSET', KEYS[6], 'tokens', tostring(tokens), 'ts', now, 'filling', filling and '1' or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - 60000)

local drawDue = (state == SALE.PRE_QUEUE and s.opensAt and now >= tonumber(s.opensAt)) and 1 or 0
local activeCount = redis.call('ZCARD', KEYS[4])
local waitingCount = redis.call('ZCARD', KEYS[2])

-- When the next tick is needed (the gateway's loop skips the event until then, until
-- the sale hash changes, or until a join wakes it): an OPEN sale with waiters admits
-- every tick, and so does one ending its waiters or due for its draw. Otherwise only
-- the clock can give a tick work: the opening (the draw, or admission from then on),
-- the closing (waiters to end), or the next READY token's expiry (a claimed one is
-- looked at again every tick until its payment ends). Idle waiters of a paused or
-- pre-queue sale are swept once it admits.
local nextTickIn = -1
local function atTheLatest(at)
  if at and (nextTickIn < 0 or at - now < nextTickIn) then nextTickIn = math.max(0, at - now) end
end
if (state == SALE.OPEN and waitingCount > 0) or drawDue == 1
  or ((state == SALE.SOLD_OUT or state == SALE.CLOSED) and waitingCount > 0) then
  nextTickIn = 0
else
  if (state == SALE.SCHEDULED or state == SALE.PRE_QUEUE) and s.opensAt then atTheLatest(tonumber(s.opensAt)) end
  if waitingCount > 0 and s.closesAt then atTheLatest(tonumber(s.closesAt)) end
  local nextReady = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if nextReady[2] then atTheLatest(tonumber(nextReady[2])) end
end
return { R.OK, admitted, timedOut, abandoned, activeCount, waitingCount, state, ended, drawDue, nextTickIn }
