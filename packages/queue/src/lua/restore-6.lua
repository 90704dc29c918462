--[[
  Rebuilds part of an event's queue from QUEUE_TOKEN rows after Redis lost it.
  Called in chunks in place order; the last chunk sets the marker, which opens
  the queue again. A token already present in Redis is left as it is.

  KEYS[1] marker
  KEYS[2] seq
  KEYS[3] waiting
  KEYS[4] heartbeat
  KEYS[5] active
  KEYS[6] accounts

  ARGV[1] token-key base
  ARGV[2] highest place ever issued for the event (the FIFO counter resumes above it)
  ARGV[3] retention seconds for EXPIRED tokens
  ARGV[4] '1' on the last chunk
  ARGV[5..] ten values per token: token, accountId, eventId, place, status, reason,
            issuedAt, readyAt, expiresAt, version ('' for none)

  Returns the number of tokens restored by this call.
]]
--- @include "now"

local now = nowMs()
local restored = 0
for i = 5, #ARGV, 10 do
  local token, accountId, status = ARGV[i], ARGV[i + 1], ARGV[i + 4]
  local tokenKey = ARGV[1] .. token
  if redis.call('EXISTS', tokenKey) == 0 then
    redis.call('HSET', tokenKey, 'token', token, 'accountId', accountId, 'eventId', ARGV[i + 2],
      'place', ARGV[i + 3], 'status', status, 'issuedAt', ARGV[i + 6], 'v', ARGV[i + 9])
    if ARGV[i + 5] ~= '' then redis.call('HSET', tokenKey, 'reason', ARGV[i + 5]) end
    if ARGV[i + 7] ~= '' then redis.call('HSET', tokenKey, 'readyAt', ARGV[i + 7]) end
    if ARGV[i + 8] ~= '' then redis.call('HSET', tokenKey, 'expiresAt', ARGV[i + 8]) end
    if status == 'WAITING' then
      redis.call('ZADD', KEYS[3], ARGV[i + 3], token)
      -- A fresh heartbeat: fans get a full idle window to reconnect after the outage.
      redis.call('ZADD', KEYS[4], now, token)
      redis.call('HSET', KEYS[6], accountId, token)
    elseif status == 'READY' then
      redis.call('ZADD', KEYS[5], ARGV[i + 8], token)
      redis.call('HSET', KEYS[6], accountId, token)
    else
      redis.call('EXPIRE', tokenKey, ARGV[3])
    end
    restored = restored + 1
  end
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) > seq then redis.call('SET', KEYS[2], ARGV[2]) end
if ARGV[4] == '1' then redis.call('SET', KEYS[1], now) end
return restored
