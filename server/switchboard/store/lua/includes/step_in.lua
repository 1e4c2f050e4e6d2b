-- Routing prelude: supervisors who step in: the checks of a supervisor's command on a
-- conversation, and a supervisor barging in (joining as a participant) and leaving.
-- Provides: `StepIn.*`: check, barged, join, leave.
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/supervisors"

local StepIn = {}

-- ------------------------------------------------------------------ supervisors stepping in

-- Whether supervisor `aid` may step into conversation `cid` now. Returns the
-- refusal, or nil with the session id and the session: `forbidden` unless `aid`
-- supervises the session's queue, `not_found` for no such conversation,
-- `conflict` unless an agent is connected to it (active or in conference).
function StepIn.check(aid, cid)
  local a = redis.call('HMGET', k(KEY.agent, aid), 'role', 'queues')
  if a[1] ~= 'supervisor' then return refuse('forbidden', 'only supervisors can step in') end
  local sid = redis.call('HGET', cv(cid), 'session')
  if not sid then return refuse('not_found', 'no such conversation') end
  local s = hgetall(k(KEY.session, sid))
  local mine = false
  for _, q in ipairs(cjson.decode(a[2])) do if q == s.queue then mine = true end end
  if not mine then return refuse('forbidden', 'the conversation is not in one of your queues') end
  if s.status ~= 'active' and s.status ~= 'conference' then
    return refuse('conflict', 'the conversation is not live (' .. tostring(s.status) .. ')')
  end
  return nil, sid, s
end

-- The supervisors who barged into a conversation are listed in its `barged`
-- (replicated: the message path lets them write); they take no capacity slot and
-- never do wrap-up. Barging in monitors the conversation too, so every event
-- reaches the supervisor through `monitors`.
function StepIn.barged(cid, aid)
  return has_word(redis.call('HGET', cv(cid), 'barged'), aid)
end

function StepIn.join(aid, cid, sid, s)
  Supervisors.start_monitoring(aid, cid)
  local barged = redis.call('HGET', cv(cid), 'barged') or ''
  Conversations.update_conversation(cid, {barged = (barged == '' and aid) or (barged .. ' ' .. aid)})
  local who = Agents.agent_public(aid)
  local to = Conversations.audience(cid, true)
  Conversations.append(cid, {type = 'chat.participant_joined', session_id = sid, agent = who}, to)
  Conversations.system_message(cid, who.display_name .. ' (supervisor) joined the conversation', to)
  lifecycle({type = 'session.barged_in', conversation_id = cid, session_id = sid, queue = s.queue, agent = aid})
end

-- `why`: "left" (the supervisor's `leave`) or "unmonitored".
function StepIn.leave(aid, cid, why)
  local rest = {}
  for _, b in ipairs(words(redis.call('HGET', cv(cid), 'barged'))) do
    if b ~= aid then rest[#rest + 1] = b end
  end
  Conversations.update_conversation(cid, {barged = table.concat(rest, ' ')})
  local sid = redis.call('HGET', cv(cid), 'session')
  local queue = redis.call('HGET', k(KEY.session, sid), 'queue')
  local who = Agents.agent_public(aid)
  local to = Conversations.audience(cid, true)
  Conversations.append(cid, {type = 'chat.participant_left', session_id = sid, agent = who}, to)
  Conversations.system_message(cid, who.display_name .. ' (supervisor) left the conversation', to)
  lifecycle({type = 'session.barge_ended', conversation_id = cid, session_id = sid, queue = queue, agent = aid,
    reason = why})
end
