-- set_state: the agent chooses available, not_ready (with one of the deployment's
-- not-ready reasons, when any are configured) or offline (rona is left this way).
-- ARGV[5] agent id   ARGV[6] state   ARGV[7] reason ("" none)
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
local aid, state, reason = ARGV[5], ARGV[6], ARGV[7]
if not redis.call('HGET', k(KEY.agent, aid), 'queues') then return refuse('not_found', 'no such agent') end
local refused = Agents.check_reason(state, reason)
if refused then return refused end
Agents.set_agent_state(aid, state, reason)
Routing.route_all()
local a = redis.call('HMGET', k(KEY.agent, aid), 'state', 'reason', 'since')
local result = {state = a[1], since = tonumber(a[3])}
if a[2] and a[2] ~= '' then result.reason = a[2] end
return Conversations.done(result)
