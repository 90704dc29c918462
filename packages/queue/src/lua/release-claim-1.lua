--[[
  Gives a claim back after a failed payment; only the claim's owner can.

  KEYS[1] token hash
  ARGV[1] claim owner

  Returns {R.OK} if released, {R.NOT_OWNER} if the claim was not this owner's.
]]
if redis.call('HGET', KEYS[1], F.claim) == ARGV[1] then
  redis.call('HDEL', KEYS[1], F.claim, F.claimUntil)
  return { R.OK }
end
return { R.NOT_OWNER }
