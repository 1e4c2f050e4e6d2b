-- Routing prelude: supervisors monitoring conversations.
-- Provides: `Supervisors.*`: start_monitoring, stop_monitoring.
--- @include "includes/call"
--- @include "includes/conversations"

local Supervisors = {}

-- ------------------------------------------------------------------ supervisors

-- A supervisor monitoring a conversation receives its events without joining:
-- the conversation lists it in `monitors` (its replica is read by the message path too).
function Supervisors.start_monitoring(aid, cid)
  local monitors = redis.call('HGET', cv(cid), 'monitors') or ''
  if not has_word(monitors, aid) then
    Conversations.update_conversation(cid, {monitors = (monitors == '' and aid) or (monitors .. ' ' .. aid)})
  end
  redis.call('SADD', k(KEY.agent, aid, 'monitoring'), cid)
end

function Supervisors.stop_monitoring(aid, cid)
  redis.call('SREM', k(KEY.agent, aid, 'monitoring'), cid)
  if redis.call('EXISTS', cv(cid)) == 0 then return end
  local rest = {}
  for _, m in ipairs(words(redis.call('HGET', cv(cid), 'monitors'))) do
    if m ~= aid then rest[#rest + 1] = m end
  end
  Conversations.update_conversation(cid, {monitors = table.concat(rest, ' ')})
end
