-- view_transfer_targets (read only): where an agent can send a conversation:
-- every queue, and every other agent with whether it can take one now (the
-- same test as refuse_target: unfit_target in includes/side_offers.lua).
-- ARGV[5] the asking agent
--- @include "includes/call"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/side_offers"
local me = ARGV[5]
local queues, agents = {}, {}
for _, qid in ipairs(redis.call('SMEMBERS', k('queues'))) do
  queues[#queues + 1] = {id = qid, name = Queues.queue_name(qid), waiting = redis.call('ZCARD', k(KEY.queue_state, qid, 'waiting'))}
end
for _, aid in ipairs(redis.call('SMEMBERS', k('agents'))) do
  if aid ~= me then
    local a = redis.call('HMGET', k(KEY.agent, aid), 'display_name', 'state', 'capacity', 'queues', 'role')
    local online = redis.call('SCARD', k(KEY.agent, aid, 'conns')) > 0
    local load, capacity = Agents.agent_load(aid), tonumber(a[3]) or 0
    agents[#agents + 1] = {id = aid, display_name = a[1] or aid, state = online and a[2] or 'offline',
      role = a[5] or 'agent', queues = cjson.decode(a[4] or '[]'), sessions = load, capacity = capacity,
      free = SideOffers.unfit_target(aid, a[2], a[3]) == nil}
  end
end
return Conversations.done({queues = queues, agents = agents})
