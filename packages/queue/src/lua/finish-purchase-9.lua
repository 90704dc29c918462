--[[
  After a payment committed, in one step: retires the claimed token as EXPIRED
  (COMPLETED) and frees its slot, marks every seat of the order SOLD (which also
  releases this payment's seat locks), and rewrites the catalogue versions the sale
  changed (the booking API's seat map and dates caches, catalog-cache.ts), so a
  purchase makes one round trip to Redis after its commit. `completedAt` is the
  commit time, so Redis and the QUEUE_TOKEN row the payment wrote agree to the
  millisecond.

  KEYS[1] marker     (its value is the queue's epoch, carried by the mirror record)
  KEYS[2] token hash
  KEYS[3] waiting
  KEYS[4] active
  KEYS[5] accounts   prefix of the account buckets
  KEYS[6] records    prefix of the WAITING token buckets
  KEYS[7] stream
  KEYS[8] feed       expiries for the SSE fan-out (includes/expire.lua)
  KEYS[9] catalog    the event's catalogue versions (a hash)

  ARGV[1] token
  ARGV[2] claim owner
  ARGV[3] completedAt (ms)
  ARGV[4] retention seconds
  ARGV[5] seat key base ("<prefix>{q:<eventId>}:seat:<scheduleId>:")
  ARGV[6] how long a SOLD marker is kept (ms)
  ARGV[7] how long the catalogue versions live after this change (ms)
  ARGV[8] the version at which the payment's transaction wrote the token COMPLETED to
          QUEUE_TOKEN ('' when it did not): when the token reaches exactly that version
          here (nothing changed it while the payment ran), the change is durable already
          and is not mirrored again (includes/mirror.lua)
  ARGV[9] n, the number of seat ids
  ARGV[10..9+n] seat ids
  ARGV[10+n..] catalogue version field, new value, … (none: nothing to rewrite)

  Returns {R.OK}, or {R.NOT_OWNER} when the claim is not (or no longer) this owner's,
  or {R.RECOVER} when the queue's marker is gone (Redis lost its data, or a rebuild has
  not finished) and ARGV[8] says the payment committed: the caller rebuilds (or waits for
  the rebuild under way) and runs it again, since a rebuild that read QUEUE_TOKEN before
  this payment committed brings the token back READY. Without ARGV[8] and without the
  marker, {R.NOT_OWNER}. The seats are marked SOLD and the versions rewritten in every
  case, since the sale committed.
  A token that expired while its payment ran (left mid-payment) is rewritten as COMPLETED.
  Given ARGV[8] (the transaction wrote the token COMPLETED, so this payment did commit),
  the token ends COMPLETED even when the claim is no longer this owner's: a retry took
  over the lapsed claim (its own payment will be refused by QUEUE_TOKEN), or the queue
  was rebuilt from MySQL while the payment ran (no claim at all). Otherwise the token
  would stay READY in Redis, holding a slot until its window ends, while MySQL says it paid.
]]
--- @include "expire"
--- @include "seat"

local lastSeat = 9 + tonumber(ARGV[9])
for i = 10, lastSeat do redis.call('SET', ARGV[5] .. ARGV[i], SOLD, 'PX', ARGV[6]) end
if #ARGV > lastSeat then
  redis.call('HSET', KEYS[9], unpack(ARGV, lastSeat + 1))
  redis.call('PEXPIRE', KEYS[9], ARGV[7])
end

local epoch = redis.call('GET', KEYS[1])
local f = tokenFields(KEYS[2], 'claim', 'status', 'reason')
local owned = f[1] == ARGV[2]
if not epoch then
  if ARGV[8] ~= '' then return { R.RECOVER } end
  return { R.NOT_OWNER }
end
-- Without the committed version, only the claim's owner may end the token.
if not owned and ARGV[8] == '' then return { R.NOT_OWNER } end
local k = { waiting = KEYS[3], active = KEYS[4], accounts = KEYS[5], records = KEYS[6], stream = KEYS[7],
  feed = KEYS[8], epoch = epoch }
if f[2] == S.READY then
  expireToken(k, KEYS[2], ARGV[1], X.COMPLETED, ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[8]))
elseif f[2] == S.EXPIRED and f[3] ~= X.COMPLETED then
  -- It expired (left) while this payment ran; the payment committed, so that is its end.
  setTokenFields(KEYS[2], 'reason', X.COMPLETED, 'expiresAt', ARGV[3])
  mirror(k, KEYS[2], ARGV[1])
end
return { owned and R.OK or R.NOT_OWNER }
