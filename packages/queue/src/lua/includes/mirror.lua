-- Appends the token's state (the TOKEN_FIELDS of its hash) to the event's
-- mirror stream (k.stream) after bumping its version, with the queue's epoch
-- (k.epoch, the marker's value) so MySQL refuses a record that outlived a
-- rebuild. Called by every script that changes a token, in the same script,
-- so a change and its mirror record can never disagree.
local function mirror(k, tokenKey)
  redis.call('HINCRBY', tokenKey, 'v', 1)
  local values = redis.call('HMGET', tokenKey, unpack(TOKEN_FIELDS))
  local entry = { 'e', k.epoch }
  for i = 1, #TOKEN_FIELDS do
    entry[#entry + 1] = TOKEN_FIELDS[i]
    entry[#entry + 1] = values[i] or ''
  end
  redis.call('XADD', k.stream, '*', unpack(entry))
end
