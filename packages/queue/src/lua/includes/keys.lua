-- The bucket keys of an account and of a WAITING token, from the prefixes the
-- caller passes (k.accounts, k.records): the same rule as accountBucket() and
-- tokenBucket() in keys.ts. Buckets keep a million small entries in a few
-- thousand listpack hashes instead of a million keys.
local function accountKey(k, accountId)
  return k.accounts .. string.sub(redis.sha1hex(accountId), 1, 3)
end

local function recordKey(k, token)
  return k.records .. string.sub(token, -2)
end
