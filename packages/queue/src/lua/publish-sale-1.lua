--[[
  Writes an event's sale settings read from MySQL into its sale hash, unless a
  newer read was written already: several writers (the operator API at once,
  every gateway's periodic refresh, recovery) read EVENT at different moments,
  and one that read before an operator's change must not undo it.

  KEYS[1] sale hash

  ARGV[1] the settings' version: EVENT.updated_at (ms) when they were read
  ARGV[2..] field, value, ... ('' removes the field)

  Returns {R.OK, changed} (changed: 1 when a field's value is new, so the caller
  tells the admission loops; 0 for a refresh that found everything as it was),
  or {R.BUSY} when the hash holds a newer version (nothing written).
]]
local current = tonumber(redis.call('HGET', KEYS[1], 'settingsVersion') or '0')
if current > tonumber(ARGV[1]) then return { R.BUSY } end
local changed = 0
for i = 2, #ARGV, 2 do
  local was = redis.call('HGET', KEYS[1], ARGV[i])
  if ARGV[i + 1] == '' then
    if was then
      redis.call('HDEL', KEYS[1], ARGV[i])
      changed = 1
    end
  elseif was ~= ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    changed = 1
  end
end
redis.call('HSET', KEYS[1], 'settingsVersion', ARGV[1])
return { R.OK, changed }
