-- grace: an agent or visitor stayed away longer than the disconnect grace.
-- An agent becomes offline and its active sessions go back to the head of
-- their queue; a webchat customer's open session ends (messaging survives).
-- ARGV[5] kind: "a" or "v"   ARGV[6] agent or visitor id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/side_offers"
--- @include "includes/lifecycle"
--- @include "includes/supervisors"
local kind, id = ARGV[5], ARGV[6]
if not Deadline.take_due('grace:' .. kind .. ':' .. id) then return Conversations.done(false) end
if redis.call('SCARD', k(kind, id, 'conns')) > 0 then return Conversations.done(false) end

if kind == 'v' then
  local cid = redis.call('HGET', k(KEY.visitor, id), 'conv')
  if not cid then return Conversations.done(false) end
  local c = redis.call('HMGET', cv(cid), 'open', 'session', 'channel')
  if c[1] ~= '1' or c[3] == 'messaging' then return Conversations.done(false) end
  local connected = redis.call('HGET', k(KEY.session, c[2]), 'connected_at')
  Lifecycle.end_session(c[2], (connected and connected ~= '') and 'customer_ended' or 'customer_abandoned')
  Routing.route_all()
  return Conversations.done(true)
end

Agents.set_agent_state(id, 'offline', 'Disconnected')
for _, sid in ipairs(redis.call('SMEMBERS', k(KEY.agent, id, 'slots'))) do
  local s = hgetall(k(KEY.session, sid))
  if has_word(s.agents, id) then
    -- A transfer or conference it started cannot complete without it.
    local side = (s.side_offer or '') ~= '' and redis.call('HGET', k(KEY.offer, s.side_offer), 'sender')
    if side == id then SideOffers.drop_side_offer(sid, 'agent_disconnected', nil) end
    local rest
    if #words(s.agents) > 1 then
      rest = SideOffers.guest_left(sid, id, 'agent_disconnected') -- a conference goes on without it
    else
      local to = Conversations.audience(s.conv, true)
      rest = SideOffers.remove_from_session(sid, id)
      Conversations.append(s.conv, {type = 'chat.participant_left', session_id = sid, agent = Agents.agent_public(id)}, to)
    end
    if #rest == 0 then
      Deadline.disarm('inact:' .. sid)
      -- back to the head of its queue: ahead of every waiting session of its priority
      local head = redis.call('ZRANGE', k(KEY.queue_state, s.queue, 'waiting'), 0, 0, 'WITHSCORES')
      if head[2] and tonumber(head[2]) <= tonumber(s.score) then
        redis.call('HSET', k(KEY.session, sid), 'score', tonumber(head[2]) - 1)
      end
      Routing.requeue(sid)
      redis.call('HSET', k(KEY.session, sid), 'owner', '', 'transferred_from', '')
      Routing.announce_queued(sid, s)
      lifecycle({type = 'session.transferred', conversation_id = s.conv, session_id = sid,
        queue = s.queue, agent = id, reason = 'agent_disconnected'})
    end
  end
end
-- A supervisor that is gone stops monitoring.
for _, cid in ipairs(redis.call('SMEMBERS', k(KEY.agent, id, 'monitoring'))) do Supervisors.stop_monitoring(id, cid) end
Agents.reindex_agent(id)
Routing.route_all()
return Conversations.done(true)
