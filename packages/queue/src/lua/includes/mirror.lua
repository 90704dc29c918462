--- @include "token"

-- Appends a token's state (its TOKEN_FIELDS, stored names) to the event's
-- mirror stream (k.stream) with the queue's epoch (k.epoch, the marker's
-- value) so MySQL refuses a record that outlived a rebuild. Called by every
-- script that changes a token, in the same script, so a change and its mirror
-- record can never disagree (one exception: a payment's COMPLETED, which its own
-- transaction has written, see mirror below). The caller has bumped t.version.
-- Returns the entry's id.
local function mirrorState(k, token, t)
  return redis.call('XADD', k.stream, '*', unpack(statePairs(token, t, { 'e', k.epoch })))
end

-- The same for a token with its own hash (READY, EXPIRED): bumps its version first,
-- and marks the hash unmirrored until the record has committed (mark-durable-1.lua):
-- a change Redis alone holds could be undone by a Redis loss, so QueueService makes
-- such a state durable itself before telling any fan about it.
-- `committed`: the version at which the caller has already committed this very change
-- to QUEUE_TOKEN (a payment's transaction writes its token COMPLETED, finish-purchase-9.lua).
-- When the bump lands on it, the state is durable: no record, and no unmirrored mark
-- (an earlier state's record still in the stream is older, and MySQL keeps the newer row).
local function mirror(k, tokenKey, token, committed)
  local version = bumpTokenVersion(tokenKey)
  if committed and version == committed then
    deleteTokenFields(tokenKey, 'unmirrored')
    return
  end
  setTokenFields(tokenKey, 'unmirrored', '1')
  mirrorState(k, token, readToken(k, tokenKey, token))
end
