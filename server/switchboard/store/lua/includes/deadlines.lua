-- Routing prelude: deadlines: arming, disarming, taking a due one.
-- Provides: deadline (arm, disarm, take_due).
--- @include "includes/call"

-- ------------------------------------------------------------------ deadlines

local Deadline = {}
function Deadline.arm(member, at) redis.call('ZADD', DEADLINES, at, member) end
function Deadline.disarm(member) redis.call('ZREM', DEADLINES, member) end

-- True (and removes it) when `member` is due now: a deadline that another node
-- already handled, or that was re-armed for later, is left alone.
function Deadline.take_due(member)
  local at = redis.call('ZSCORE', DEADLINES, member)
  if not at or tonumber(at) > NOW then return false end
  redis.call('ZREM', DEADLINES, member)
  return true
end
