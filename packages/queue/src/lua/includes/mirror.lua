--- @include "token"

-- Appends a token's state (its TOKEN_FIELDS, stored names) to the event's
-- mirror stream (k.stream) with the queue's epoch (k.epoch, the marker's
-- value) so MySQL refuses a record that outlived a rebuild. Called by every
-- script that changes a token, in the same script, so a change and its mirror
-- record can never disagree. The caller has bumped t.version.
local function mirrorState(k, token, t)
  redis.call('XADD', k.stream, '*', unpack(statePairs(token, t, { 'e', k.epoch })))
end

-- The same for a token with its own hash (READY, EXPIRED): bumps its version first.
local function mirror(k, tokenKey, token)
  bumpTokenVersion(tokenKey)
  mirrorState(k, token, readToken(k, tokenKey, token))
end
