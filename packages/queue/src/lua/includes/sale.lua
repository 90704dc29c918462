-- The event's sale (SPEC §8) from its settings hash, judged on the Redis clock,
-- so every gateway copy sees the same state at the same moment.
local function readSale(saleKey)
  local fields = redis.call('HGETALL', saleKey)
  local s = {}
  for i = 1, #fields, 2 do s[fields[i]] = fields[i + 1] end
  return s
end

local function saleState(s, now)
  if s.closesAt and now >= tonumber(s.closesAt) then return SALE.CLOSED end
  if s.opensAt and now < tonumber(s.opensAt) then
    if s.preQueueFrom and now >= tonumber(s.preQueueFrom) then return SALE.PRE_QUEUE end
    return SALE.SCHEDULED
  end
  -- Opened, but the pre-queue's order is not drawn yet: nobody is admitted until it is.
  if s.opensAt and s.drawn ~= '1' and tonumber(s.prequeueLast or '0') > 0 then return SALE.PRE_QUEUE end
  if s.soldOut == '1' then return SALE.SOLD_OUT end
  if s.paused == '1' then return SALE.PAUSED end
  return SALE.OPEN
end

-- A per-event setting, or the deployment's default.
local function saleSetting(s, name, default)
  return tonumber(s[name] or '') or tonumber(default)
end
