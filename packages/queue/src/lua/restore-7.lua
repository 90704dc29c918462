--[[
  Rebuilds part of an event's queue from QUEUE_TOKEN rows after Redis lost it.
  Called in chunks in place order; the last chunk sets the marker, which opens
  the queue again. A token already present in Redis is left as it is.

  KEYS[1] marker
  KEYS[2] seq
  KEYS[3] waiting
  KEYS[4] records    prefix of the WAITING token buckets
  KEYS[5] active
  KEYS[6] accounts   prefix of the account buckets
  KEYS[7] recovery lock (the rebuild writes only while it still holds it: a rebuild
          whose lock was lost, e.g. to a FLUSHALL mid-rebuild, must not set the marker
          to its older epoch over the rebuild that took over)

  ARGV[1] token-key base
  ARGV[2] highest place ever issued for the event (the FIFO counter resumes above it)
  ARGV[3] retention seconds for EXPIRED tokens
  ARGV[4] on the last chunk the queue's new epoch, which becomes the marker's
          value (scripts stamp it on every mirror record); '' before
  ARGV[5] the rebuild's lock owner
  ARGV[6..] per token, the token then its TOKEN_FIELDS values in that order ('' for none)

  Returns {R.OK, number of tokens restored by this call}, or {R.NOT_OWNER}.
]]
--- @include "now"
--- @include "token"

if redis.call('GET', KEYS[7]) ~= ARGV[5] then return { R.NOT_OWNER } end
local now = nowMs()
local k = { waiting = KEYS[3], records = KEYS[4], accounts = KEYS[6] }
local restored = 0
local n = #TOKEN_FIELDS
for i = 6, #ARGV, n + 1 do
  local token = ARGV[i]
  local t = {}
  for j = 1, n do t[TOKEN_FIELDS[j]] = ARGV[i + j] end
  local tokenKey = ARGV[1] .. token
  if redis.call('EXISTS', tokenKey) == 0 and not redis.call('ZSCORE', KEYS[3], token) then
    if t.status == S.WAITING then
      -- Seen now: fans get a full idle window to reconnect after the outage.
      t.seen = now
      writeWaiting(k, token, t)
      redis.call('ZADD', KEYS[3], t.place, token)
      redis.call('HSET', accountKey(k, t.accountId), t.accountId, t.place)
    elseif t.status == S.READY then
      writeTokenHash(tokenKey, t)
      redis.call('ZADD', KEYS[5], t.expiresAt, token)
      redis.call('HSET', accountKey(k, t.accountId), t.accountId, token)
    else
      writeTokenHash(tokenKey, t)
      redis.call('EXPIRE', tokenKey, ARGV[3])
    end
    restored = restored + 1
  end
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) > seq then redis.call('SET', KEYS[2], ARGV[2]) end
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[4]) end
return { R.OK, restored }
