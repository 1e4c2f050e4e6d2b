-- transfer: an agent connected to a conversation hands it on.
--   To a queue (cold): the agent leaves at once and the session waits at the
--   head of that queue; the next agent's offer is of kind "transfer".
--   To an agent (warm): that agent gets an offer of kind "transfer"; the chat
--   stays with the sender until the target accepts (see accept.lua).
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] "queue" or "agent"   ARGV[8] target id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/side_offers"
local aid, cid, mode, target = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

local c = redis.call('HMGET', cv(cid), 'visitor', 'open', 'session')
if not c[1] then return refuse('not_found', 'no such conversation') end
local sid = c[3]
local s = hgetall(k(KEY.session, sid))
if not has_word(s.agents, aid) then
  if s.status == 'offered' and redis.call('HGET', k(KEY.offer, s.offer), 'agent') == aid then
    return refuse('conflict', 'accept the offer before you transfer the conversation')
  end
  if c[2] ~= '1' and has_word(s.wrapping, aid) then return refuse('conflict', 'the session has already ended') end
  return refuse('forbidden', 'you are not connected to this conversation')
end
if s.status == 'conference' then return refuse('conflict', 'end the conference before you transfer the conversation') end

if mode == 'agent' then
  local refusal = SideOffers.refuse_target(s, aid, target)
  if refusal then return refusal end
  local offer = SideOffers.offer_side(sid, s, 'transfer', aid, target)
  return Conversations.done({conversation_id = cid, session_id = sid, offer_id = offer.offer_id, expires_at = offer.expires_at})
end

local q = Queues.queue_config(target)
if not q then return refuse('not_found', 'no such queue: ' .. target) end
if not Queues.serves_language(q, s.language) then
  return refuse('conflict', 'queue ' .. target .. ' does not serve language ' .. s.language)
end
if (s.side_offer or '') ~= '' then
  return refuse('conflict', 'a transfer or conference offer for this conversation is already pending')
end

local to = Conversations.audience(cid, true)
SideOffers.remove_from_session(sid, aid)
Deadline.disarm('inact:' .. sid)
for i = 1, 20 do Deadline.disarm('step:' .. sid .. ':' .. i) end
-- A new routing in the new queue; the sender asked for someone else, so it is
-- not offered the session again (as if it had declined it).
redis.call('DEL', k(KEY.session, sid, 'declined'))
redis.call('SADD', k(KEY.session, sid, 'declined'), aid)
-- At the head of the target queue: ahead of every session waiting there.
local priority = tonumber(q.priority or 0) + (tonumber(s.chat_priority) or 0)
local score = Queues.entry_score(q, priority, NOW)
local head = redis.call('ZRANGE', k(KEY.queue_state, target, 'waiting'), 0, 0, 'WITHSCORES')
if head[2] and tonumber(head[2]) <= score then score = tonumber(head[2]) - 1 end
redis.call('HSET', k(KEY.session, sid), 'queue', target, 'priority', priority, 'score', score, 'entered_at', NOW,
  'owner', '', 'transferred_from', aid, 'status', 'waiting', 'overflowed', '')
Queues.enqueue(sid, target, score, NOW)
Queues.arm_waiting_deadlines(sid, target, q, NOW, false)

Conversations.append(cid, {type = 'chat.transferred', session_id = sid, from_agent = Agents.agent_public(aid),
  queue = {id = target, name = Queues.queue_name(target)}}, to)
Routing.announce_queued(sid, {queue = target, visitor = c[1], conv = cid})
lifecycle({type = 'session.transferred', conversation_id = cid, session_id = sid, queue = target,
  from_queue = s.queue, agent = aid, kind = 'queue'})
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid, queue = target})
