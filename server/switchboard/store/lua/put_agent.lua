-- put_agent: creates or replaces an agent's profile. A new agent is offline.
-- ARGV[5] agent id   ARGV[6] profile (JSON, validated by the caller)
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/supervisors"
local aid, raw = ARGV[5], ARGV[6]
local a = cjson.decode(raw)
local key = k(KEY.agent, aid)
local old = redis.call('HGET', key, 'queues')
if old then
  for _, qid in ipairs(cjson.decode(old)) do
    Agents.unindex_ready(qid, aid)
    redis.call('SREM', k(KEY.queue_state, qid, 'members'), aid)
  end
else
  -- A fresh token version: tokens of an earlier agent with the same id stay dead.
  redis.call('HSET', key, 'state', 'offline', 'reason', '', 'since', NOW, 'idle_since', NOW,
    'token_version', tostring(NOW))
  redis.call('SADD', k('agents'), aid)
end
redis.call('HSET', key, 'config', raw, 'display_name', a.display_name, 'role', a.role,
  'langs', table.concat(a.languages, ' '), 'skills', table.concat(a.skills, ' '),
  'proficiency', cjson.encode(a.proficiency or {}), 'queues', cjson.encode(a.queues), 'capacity', a.capacity)
for _, qid in ipairs(a.queues) do redis.call('SADD', k(KEY.queue_state, qid, 'members'), aid) end
if a.role == 'supervisor' then
  redis.call('SADD', k('supervisors'), aid)
else
  redis.call('SREM', k('supervisors'), aid)
  for _, cid in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'monitoring'))) do Supervisors.stop_monitoring(aid, cid) end
end
Agents.reindex_agent(aid)
Routing.route_all()
return Conversations.done({created = old == false})
