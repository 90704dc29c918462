--[[
  Clears the unmirrored mark (includes/mirror.lua) of tokens whose state has
  committed to QUEUE_TOKEN: by the mirror after its batch, or by a caller that
  made a state durable before telling a fan about it (QueueService). A token
  changed again since (a higher version) keeps its mark: that change is not in
  MySQL yet. A commit of an ended epoch clears nothing.

  KEYS[1] marker

  ARGV[1] the epoch the states committed in
  ARGV[2] token-key base
  ARGV[3..] token, committed version, token, committed version, ...

  Returns {R.OK, cleared}.
]]
--- @include "token"

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return { R.OK, 0 } end
local cleared = 0
for i = 3, #ARGV, 2 do
  local tokenKey = ARGV[2] .. ARGV[i]
  local f = tokenFields(tokenKey, 'version', 'unmirrored')
  if f[2] and tonumber(f[1] or '0') <= tonumber(ARGV[i + 1]) then
    deleteTokenFields(tokenKey, 'unmirrored')
    cleared = cleared + 1
  end
end
return { R.OK, cleared }
