-- delete_agent: removes an agent that holds no session and no offer; its
-- tokens stop working with it.
-- ARGV[5] agent id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/supervisors"
local aid = ARGV[5]
local queues = redis.call('HGET', k(KEY.agent, aid), 'queues')
if not queues then return refuse('not_found', 'no such agent') end
local held = redis.call('SCARD', k(KEY.agent, aid, 'slots')) + redis.call('SCARD', k(KEY.agent, aid, 'offers'))
if held > 0 then return refuse('conflict', 'the agent still holds sessions or offers') end
for _, qid in ipairs(cjson.decode(queues)) do
  Agents.unindex_ready(qid, aid)
  redis.call('SREM', k(KEY.queue_state, qid, 'members'), aid)
end
redis.call('DEL', k(KEY.agent, aid), k(KEY.agent, aid, 'slots'), k(KEY.agent, aid, 'offers'), k(KEY.agent, aid, 'convs'),
  k(KEY.agent, aid, 'released'))
for _, cid in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'monitoring'))) do Supervisors.stop_monitoring(aid, cid) end
redis.call('SREM', k('agents'), aid)
redis.call('SREM', k('supervisors'), aid)
Deadline.disarm('grace:a:' .. aid)
return Conversations.done(true)
