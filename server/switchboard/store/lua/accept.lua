-- accept: the agent takes the session it was offered: a new (or transferred)
-- session from its queue, a transfer from another agent, or a conference.
-- ARGV[5] agent id   ARGV[6] offer id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/side_offers"
--- @include "includes/lifecycle"
local aid, oid = ARGV[5], ARGV[6]
local o = hgetall(k(KEY.offer, oid))
if not o or o.agent ~= aid then return refuse('not_found', 'no such offer (it may have expired)') end
local sid = o.session
local s = hgetall(k(KEY.session, sid))

if not o.sender then
  if s.status ~= 'offered' then return refuse('conflict', 'the session is no longer on offer') end
  Routing.remove_offer(oid)
  connect_agent(sid, aid)
  Routing.route_all()
  return Conversations.done({conversation_id = s.conv, session_id = sid, kind = o.kind})
end

-- A transfer or conference offer: the sender still holds the session.
if s.side_offer ~= oid or not has_word(s.agents, o.sender) then
  return refuse('conflict', 'the conversation is no longer on offer')
end
Routing.remove_offer(oid)
redis.call('HSET', k(KEY.session, sid), 'side_offer', '')
local target = Agents.agent_public(aid)
redis.call('SADD', k(KEY.agent, aid, 'slots'), sid)
redis.call('HSET', k(KEY.agent, aid), 'idle_since', NOW)
Lifecycle.remember_conversation(aid, s.conv)
Conversations.touch(s.conv)

if o.kind == 'transfer' then
  -- The sender leaves as the target comes in; the customer sees the hand-over.
  local to = Conversations.audience(s.conv, true)
  SideOffers.remove_from_session(sid, o.sender)
  redis.call('HSET', k(KEY.session, sid), 'agents', aid, 'owner', aid, 'status', 'active')
  Conversations.update_conversation(s.conv, {agents = aid})
  Conversations.append(s.conv, {type = 'chat.transferred', session_id = sid, from_agent = Agents.agent_public(o.sender), agent = target}, to)
  Conversations.append(s.conv, {type = 'chat.connected', session_id = sid, agent = target}, to)
  lifecycle({type = 'session.transferred', conversation_id = s.conv, session_id = sid, queue = s.queue,
    agent = o.sender, to_agent = aid, kind = 'agent'})
else
  -- A conference: the guest joins; the owner stays in charge.
  local agents = s.agents .. ' ' .. aid
  redis.call('HSET', k(KEY.session, sid), 'agents', agents, 'status', 'conference')
  Conversations.update_conversation(s.conv, {agents = agents})
  local to = Conversations.audience(s.conv, true)
  Conversations.append(s.conv, {type = 'chat.participant_joined', session_id = sid, agent = target}, to)
  Conversations.system_message(s.conv, target.display_name .. ' joined the conversation', to)
  local others = {}
  for _, a in ipairs(words(s.agents)) do others[#others + 1] = 'a:' .. a end
  deliver(others, {type = 'conference.started', conversation_id = s.conv, session_id = sid, agent = target})
  lifecycle({type = 'session.conference_started', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = aid, from_agent = o.sender})
end
deliver({'a:' .. aid}, {type = 'conversation.assigned', conversation_id = s.conv,
  _card = Cards.session_view(sid), _history = History.mark(s.conv, HISTORY_LIMIT, false, 'messages')})
Agents.reindex_agent(aid)
Routing.route_all()
return Conversations.done({conversation_id = s.conv, session_id = sid, kind = o.kind})
