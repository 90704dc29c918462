--- @include "token"

-- Appends a token's state (its TOKEN_FIELDS, stored names) to the event's
-- mirror stream (k.stream) with the queue's epoch (k.epoch, the marker's
-- value) so MySQL refuses a record that outlived a rebuild. Called by every
-- script that changes a token, in the same script, so a change and its mirror
-- record can never disagree. The caller has bumped t.version. Returns the entry's id.
local function mirrorState(k, token, t)
  return redis.call('XADD', k.stream, '*', unpack(statePairs(token, t, { 'e', k.epoch })))
end

-- The same for a token with its own hash (READY, EXPIRED): bumps its version first,
-- and marks the hash unmirrored until the record has committed (mark-durable-1.lua):
-- a change Redis alone holds could be undone by a Redis loss, so QueueService makes
-- such a state durable itself before telling any fan about it.
local function mirror(k, tokenKey, token)
  bumpTokenVersion(tokenKey)
  setTokenFields(tokenKey, 'unmirrored', '1')
  mirrorState(k, token, readToken(k, tokenKey, token))
end
