-- wrap_up: the agent closes its work on an ended session with one of the
-- queue's wrap-up codes, which frees its slot.
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] code   ARGV[8] notes ("" none)
--- @include "includes/call"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local aid, cid, code, notes = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
-- The agent may wrap up two sessions of one conversation (the customer wrote
-- again after the first ended): the older one is closed first.
local sid, ended_at = nil, nil
for _, candidate in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'slots'))) do
  local s = redis.call('HMGET', k(KEY.session, candidate), 'conv', 'wrapping', 'ended_at')
  if s[1] == cid and has_word(s[2], aid) and (not sid or tonumber(s[3]) < ended_at) then
    sid, ended_at = candidate, tonumber(s[3])
  end
end
if not sid then
  if redis.call('EXISTS', cv(cid)) == 0 then return refuse('not_found', 'no such conversation') end
  -- Someone else's conversation is none of this agent's business; its own, still open, is a conflict.
  if not has_word(redis.call('HGET', cv(cid), 'agents'), aid) then
    return refuse('forbidden', 'you are not connected to this conversation')
  end
  return refuse('conflict', 'no session of this conversation is waiting for your wrap-up')
end
local qid = redis.call('HGET', k(KEY.session, sid), 'queue')
local q = Queues.queue_config(qid) or {wrap_up_codes = {}}
local label = nil
local valid = {}
for _, wc in ipairs(q.wrap_up_codes or {}) do
  if wc.code == code then label = wc.label end
  valid[#valid + 1] = wc.code
end
if not label then
  return refuse('bad_request', 'unknown wrap-up code; the queue accepts: ' .. table.concat(valid, ', '))
end
Lifecycle.close_wrap_up(sid, aid, code, label, notes)
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid, code = code, label = label})
