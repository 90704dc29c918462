-- A seat key (<prefix>{q:<eventId>}:seat:<scheduleId>:<seatId>) holds either the owner of the
-- payment that has it locked, or SOLD once a payment for it committed: then the next buyer
-- is refused in Redis (begin-purchase-4.lua). MySQL's UNIQUE(schedule_id, live_seat_id)
-- stays the guarantee; the key only answers losers early, so losing it (TTL, Redis loss)
-- costs a database round trip, never a second sale.
local SOLD = '!sold'
