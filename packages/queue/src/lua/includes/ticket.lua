--- @include "sale"
--- @include "token"

-- A ticket reply: a reply code, then the token's state as stored-name pairs
-- (t from readToken), then the live facts the client needs (rank among waiters,
-- server time, the admissions of the last minute for the ETA, the sale's state
-- and opening, the event's own rate and idle window when set), and what making the
-- state durable takes: the queue's epoch (the marker's value) and whether the
-- state is still unmirrored ('1', or ''). One round trip in all.
local function ticketReply(code, t, token, waitingKey, admittedKey, bucketKey, now, s, epoch)
  local reply = toldState(token, t, epoch, { code })
  local rank = t.status == S.WAITING and redis.call('ZRANK', waitingKey, token)
  reply[#reply + 1] = '_rank'
  reply[#reply + 1] = rank and tostring(rank) or ''
  reply[#reply + 1] = '_now'
  reply[#reply + 1] = tostring(now)
  reply[#reply + 1] = '_admitted60'
  reply[#reply + 1] = tostring(redis.call('ZCOUNT', admittedKey, now - 60000, '+inf'))
  reply[#reply + 1] = '_firstAdmitAt'
  reply[#reply + 1] = redis.call('HGET', bucketKey, 'firstAdmitAt') or ''
  reply[#reply + 1] = '_state'
  reply[#reply + 1] = saleState(s, now)
  reply[#reply + 1] = '_opensAt'
  reply[#reply + 1] = s.opensAt or ''
  reply[#reply + 1] = '_rate'
  reply[#reply + 1] = s.admitPerSecond or ''
  reply[#reply + 1] = '_idleMs'
  reply[#reply + 1] = s.waitingIdleMs or ''
  return reply
end
