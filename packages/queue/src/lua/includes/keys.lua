-- The bucket keys of an account and of a WAITING token, from the prefixes the
-- caller passes (k.accounts, k.records): the same rule as accountBucket() and
-- tokenBucket() in keys.ts. Buckets keep a million small entries in a few
-- thousand listpack hashes instead of a million keys.
local function accountKey(k, accountId)
  return k.accounts .. (tonumber(string.sub(redis.sha1hex(accountId), 1, 4), 16) % 16384)
end

local function recordKey(k, token)
  return k.records .. string.sub(token, -2) .. (string.byte(token, -3) % 4)
end
