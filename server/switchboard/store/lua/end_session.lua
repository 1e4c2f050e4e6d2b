-- end_session: the customer (`end_chat`) or a connected agent (`end_session`)
-- ends the open session of a conversation.
-- ARGV[5] role: "customer", "agent" or "api" (automation: the conversations API)
-- ARGV[6] visitor or agent id ("" for the API)
-- ARGV[7] conversation id ("" for the customer: its current conversation)
-- ARGV[8] (the API) why, in words: kept on the session and in its `session.ended`
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local role, actor, cid = ARGV[5], ARGV[6], ARGV[7]
if role == 'customer' then
  cid = redis.call('HGET', k(KEY.visitor, actor), 'conv')
  if not cid then return refuse('conflict', 'there is no chat to end') end
end
local c = redis.call('HMGET', cv(cid), 'visitor', 'agents', 'open', 'session')
if not c[1] then return refuse('not_found', 'no such conversation') end
if role == 'agent' and not has_word(c[2], actor) then
  if has_word(redis.call('HGET', k(KEY.session, c[4]), 'wrapping'), actor) then
    return refuse('conflict', 'the session has already ended')
  end
  return refuse('forbidden', 'you are not connected to this conversation')
end
if c[3] ~= '1' then return refuse('conflict', 'the session has already ended') end
local sid = c[4]
local reason = role == 'api' and 'api_ended' or 'agent_ended'
if role == 'customer' then
  local connected = redis.call('HGET', k(KEY.session, sid), 'connected_at')
  reason = (connected and connected ~= '') and 'customer_ended' or 'customer_abandoned'
end
Lifecycle.end_session(sid, reason, role == 'api' and ARGV[8] or nil)
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid, reason = reason})
