-- Appends the token's full state to the event's mirror stream after bumping
-- its version. Called by every script that changes a token, in the same
-- script, so a change and its mirror record can never disagree.
local function mirror(streamKey, tokenKey)
  local v = redis.call('HINCRBY', tokenKey, 'v', 1)
  local f = redis.call('HMGET', tokenKey, 'token', 'accountId', 'eventId', 'place', 'status', 'reason',
    'issuedAt', 'readyAt', 'expiresAt')
  redis.call('XADD', streamKey, '*', 'token', f[1], 'accountId', f[2], 'eventId', f[3], 'place', f[4],
    'status', f[5], 'reason', f[6] or '', 'issuedAt', f[7], 'readyAt', f[8] or '', 'expiresAt', f[9] or '',
    'v', v)
end
