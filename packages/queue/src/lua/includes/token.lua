--- @include "keys"

-- A token's two forms (token-state.ts): a WAITING token is one line in its
-- bucket (recordKey), WAITING_FIELDS joined by '|', its place the waiting zset's
-- score; a READY or EXPIRED token has its own hash (tokenKey) of F fields.
-- Both read into one table keyed by logical names (t.status, t.place, ...).
-- A line stays at most 64 bytes for account ids up to 40 characters (UUIDs), the
-- listpack limit of a hash value (hash-max-listpack-value): beyond it the whole
-- bucket turns into a plain hash table, twice the memory. So 'seen' is stored as
-- ms after issuedAt (a few digits) rather than a 13-digit time.

local function waitingLine(t)
  local values = {}
  for i = 1, #WAITING_FIELDS do
    local name = WAITING_FIELDS[i]
    local value = t[name]
    if name == 'seen' then value = tonumber(value) - tonumber(t.issuedAt) end
    values[i] = tostring(value or '')
  end
  return table.concat(values, '|')
end

-- The WAITING token's state, or nil when it has no line (k.records, k.waiting).
-- A WAITING token's line as a state without its place (what a heartbeat needs), or nil.
local function readWaitingLine(k, token)
  local line = redis.call('HGET', recordKey(k, token), token)
  if not line then return nil end
  local t = { status = S.WAITING }
  local i = 1
  for value in string.gmatch(line, '([^|]*)|?') do
    if i > #WAITING_FIELDS then break end
    t[WAITING_FIELDS[i]] = value
    i = i + 1
  end
  t.seen = tonumber(t.issuedAt) + (tonumber(t.seen) or 0)
  return t
end

local function readWaiting(k, token)
  local t = readWaitingLine(k, token)
  if t then t.place = redis.call('ZSCORE', k.waiting, token) end
  return t
end

local function writeWaiting(k, token, t)
  redis.call('HSET', recordKey(k, token), token, waitingLine(t))
end

-- BY_STORED: stored field name -> logical name (F inverted), declared by scripts.ts buildScript.

-- The token's state in either form, or nil for an unknown token.
local function readToken(k, tokenKey, token)
  local fields = redis.call('HGETALL', tokenKey)
  if #fields == 0 then return readWaiting(k, token) end
  local byStored = BY_STORED
  local t = {}
  for i = 1, #fields, 2 do
    local name = byStored[fields[i]]
    if name then t[name] = fields[i + 1] end
  end
  return t
end

-- A token's own hash (its READY or EXPIRED form) from its state: every
-- TOKEN_FIELDS value t holds ('' and nil are none), under its stored name (F).
local function writeTokenHash(tokenKey, t)
  local hash = {}
  for i = 1, #TOKEN_FIELDS do
    local value = t[TOKEN_FIELDS[i]]
    if value ~= nil and value ~= '' then
      hash[#hash + 1] = F[TOKEN_FIELDS[i]]
      hash[#hash + 1] = value
    end
  end
  redis.call('HSET', tokenKey, unpack(hash))
end

-- A WAITING token leaves its line for a hash of its own (admitted, or expired while
-- waiting): t is its state as readWaiting gave it, with the new status and times set.
local function toTokenHash(k, tokenKey, token, t)
  redis.call('HDEL', recordKey(k, token), token)
  writeTokenHash(tokenKey, t)
end

-- Single fields of a token's hash by logical name (F maps them): read as one
-- HMGET (false for a field it lacks), set from name, value, ... pairs, deleted.
local function storedNames(names)
  for i = 1, #names do names[i] = F[names[i]] end
  return names
end

local function tokenFields(tokenKey, ...)
  return redis.call('HMGET', tokenKey, unpack(storedNames({ ... })))
end

local function setTokenFields(tokenKey, ...)
  local args = { ... }
  for i = 1, #args, 2 do args[i] = F[args[i]] end
  redis.call('HSET', tokenKey, unpack(args))
end

local function deleteTokenFields(tokenKey, ...)
  redis.call('HDEL', tokenKey, unpack(storedNames({ ... })))
end

-- Every change of a READY or EXPIRED token counts: the mirror's upserts keep the highest version.
-- Returns the new version.
local function bumpTokenVersion(tokenKey)
  return redis.call('HINCRBY', tokenKey, F.version, 1)
end

-- The state as stored-name pairs (F), token first: what replies and mirror records carry.
local function statePairs(token, t, out)
  out[#out + 1] = F.token
  out[#out + 1] = token
  for i = 1, #TOKEN_FIELDS do
    out[#out + 1] = F[TOKEN_FIELDS[i]]
    out[#out + 1] = t[TOKEN_FIELDS[i]] or ''
  end
  return out
end

-- A state about to be told to a fan (a ticket, a leave, the booking API's token check):
-- its stored-name pairs after `out`, then what the caller needs to make it durable
-- first (QueueService makeDurable): the queue's epoch, and '_u' '1' while the mirror
-- has not written its latest change (includes/mirror.lua), else ''.
local function toldState(token, t, epoch, out)
  statePairs(token, t, out)
  out[#out + 1] = '_epoch'
  out[#out + 1] = epoch
  out[#out + 1] = '_u'
  out[#out + 1] = t.unmirrored or ''
  return out
end

-- The same as toldState in one string (token-state.ts fromToldLine): the token, its
-- TOKEN_FIELDS values, the epoch and the unmirrored mark, joined by '|' (no value holds
-- one). For replies that carry many states (verify-5.lua): one bulk string per state
-- instead of twenty-odd, for Redis to write and the client to parse.
local function toldLine(token, t, epoch)
  local values = { token }
  for i = 1, #TOKEN_FIELDS do values[#values + 1] = tostring(t[TOKEN_FIELDS[i]] or '') end
  values[#values + 1] = epoch
  values[#values + 1] = t.unmirrored or ''
  return table.concat(values, '|')
end

-- The stored names readToldLine asks for, and where the status is among them: made on
-- first use, so a call that never reads a told line does not pay for them.
local toldStored, toldStatusAt

-- A token's told line (toldLine's) read straight from Redis, or nil for an unknown token.
-- A READY or EXPIRED token's line comes from one HMGET of its hash in TOKEN_FIELDS
-- order with the unmirrored mark last, without building readToken's table (most of the
-- booking API's checks are of such tokens); a WAITING one's from its line.
local function readToldLine(k, tokenKey, token, epoch)
  if not toldStored then
    toldStored = {}
    for i = 1, #TOKEN_FIELDS do
      toldStored[i] = F[TOKEN_FIELDS[i]]
      if TOKEN_FIELDS[i] == 'status' then toldStatusAt = i end
    end
    toldStored[#toldStored + 1] = F.unmirrored
  end
  local v = redis.call('HMGET', tokenKey, unpack(toldStored))
  if not v[toldStatusAt] then
    local t = readWaiting(k, token)
    return t and toldLine(token, t, epoch) or nil
  end
  local values = { token }
  for i = 1, #TOKEN_FIELDS do values[i + 1] = v[i] or '' end
  values[#values + 1] = epoch
  values[#values + 1] = v[#toldStored] or ''
  return table.concat(values, '|')
end

-- An account's entry in its bucket names its live token: a WAITING token by its
-- place (a few bytes; the waiting zset holds the token at that score), a READY
-- token by the token itself (admission rewrites the entry). The token (nil when
-- the entry names none any more), and the entry (false when there is none).
-- While the pre-queue's order is applied in slices (draw-3.lua), a place can be
-- held by two tokens for a moment: the account's own is the one whose line names it.
local function liveTokenOf(k, accountId)
  local entry = redis.call('HGET', accountKey(k, accountId), accountId)
  if not entry or string.find(entry, '.', 1, true) then return entry or nil, entry end
  local held = redis.call('ZRANGEBYSCORE', k.waiting, entry, entry, 'LIMIT', 0, 2)
  if #held < 2 then return held[1], entry end
  for _, token in ipairs(held) do
    local t = readWaitingLine(k, token)
    if t and t.accountId == accountId then return token, entry end
  end
  return nil, entry
end

-- Whether the account's entry names this token (by the token or by its place).
local function entryNames(entry, token, place)
  return entry ~= false and entry ~= nil and (entry == token or (place ~= nil and entry == tostring(place)))
end
