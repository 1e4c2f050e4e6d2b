-- Routing prelude: agents: load, state, the per-queue index of ready agents.
-- Provides: `Agents.*`: agent_public, agent_load, agent_active, agent_profile, unindex_ready, reindex_agent, set_agent_state, check_reason.
--- @include "includes/call"
--- @include "includes/metrics"

local Agents = {}

-- ------------------------------------------------------------------ agents

function Agents.agent_public(aid)
  return {id = aid, display_name = redis.call('HGET', k(KEY.agent, aid), 'display_name') or aid}
end

-- What counts against capacity: the slots (sessions connected or in wrap-up)
-- and pending offers, less the wrap-ups of queues that release the slot when
-- the session ends (`released`, see Lifecycle.end_session).
function Agents.agent_load(aid)
  return Agents.agent_active(aid) + redis.call('SCARD', k(KEY.agent, aid, 'offers'))
end

function Agents.agent_active(aid)
  return redis.call('SCARD', k(KEY.agent, aid, 'slots')) - redis.call('SCARD', k(KEY.agent, aid, 'released'))
end

-- The per-queue index of agents that can take a chat now (available, connected,
-- with a free slot), ordered by idle time, then by fewer active chats:
--   q:<qid>:ready              every such agent
--   q:<qid>:rp:<profile>       those of one profile: the same languages, skills and levels
--   q:<qid>:profiles           the profiles that have a ready agent
-- Routing looks at each profile's head instead of at every ready agent, so its
-- cost grows with the number of distinct profiles, not with idle agents.
-- A profile is "<languages>|<skills>", each sorted and space-separated; a skill
-- whose level is not DEFAULT_LEVEL is written "<skill>=<level>" ('=' is not in a
-- skill name), so the profiles of agents without proficiencies are as they were.
function Agents.agent_profile(langs, skills, proficiency)
  local l, x = words(langs), words(skills)
  local levels = cjson.decode(proficiency or '{}')
  for i, skill in ipairs(x) do
    local level = tonumber(levels[skill]) or DEFAULT_LEVEL
    if level ~= DEFAULT_LEVEL then x[i] = skill .. '=' .. level end
  end
  table.sort(l)
  table.sort(x)
  return table.concat(l, ' ') .. '|' .. table.concat(x, ' ')
end

function Agents.unindex_ready(qid, aid)
  redis.call('ZREM', k(KEY.queue_state, qid, 'ready'), aid)
  local profile = redis.call('HGET', k(KEY.agent, aid), 'rprofile')
  if profile then
    local key = k(KEY.queue_state, qid, 'rp', profile)
    redis.call('ZREM', key, aid)
    if redis.call('ZCARD', key) == 0 then redis.call('SREM', k(KEY.queue_state, qid, 'profiles'), profile) end
  end
end

function Agents.reindex_agent(aid)
  local a = redis.call('HMGET', k(KEY.agent, aid), 'state', 'queues', 'capacity', 'idle_since', 'langs', 'skills', 'rprofile',
    'proficiency')
  if not a[2] then return end
  local queues = cjson.decode(a[2])
  local ready = a[1] == 'available'
    and redis.call('SCARD', k(KEY.agent, aid, 'conns')) > 0
    and Agents.agent_load(aid) < tonumber(a[3])
  local score = tonumber(a[4] or NOW) * 64 + math.min(Agents.agent_active(aid), 63)
  local profile = Agents.agent_profile(a[5], a[6], a[8])
  if a[7] and a[7] ~= profile then
    for _, qid in ipairs(queues) do Agents.unindex_ready(qid, aid) end
  end
  redis.call('HSET', k(KEY.agent, aid), 'rprofile', profile)
  for _, qid in ipairs(queues) do
    if ready then
      -- Only an agent that was not ready in this queue (or serves other chats
      -- now) can take a session that is waiting: the waiting ones already met
      -- it. An offer or an accept that leaves it ready routes nothing again.
      local was_ready = a[7] == profile and redis.call('ZSCORE', k(KEY.queue_state, qid, 'ready'), aid)
      redis.call('ZADD', k(KEY.queue_state, qid, 'ready'), score, aid)
      redis.call('ZADD', k(KEY.queue_state, qid, 'rp', profile), score, aid)
      redis.call('SADD', k(KEY.queue_state, qid, 'profiles'), profile)
      if not was_ready then ROUTE[qid] = true end
    else
      Agents.unindex_ready(qid, aid)
    end
  end
end

function Agents.set_agent_state(aid, state, reason)
  local key = k(KEY.agent, aid)
  local prev = redis.call('HMGET', key, 'state', 'reason')
  if prev[1] == state and (prev[2] or '') == (reason or '') then return false end
  redis.call('HSET', key, 'state', state, 'reason', reason or '', 'since', NOW)
  if state == 'available' then redis.call('HSET', key, 'idle_since', NOW) end
  local frame = {type = 'agent.state', state = state, since = NOW}
  if reason and reason ~= '' then frame.reason = reason end
  deliver({'a:' .. aid}, frame)
  lifecycle({type = 'agent.state_changed', agent = aid, state = state, previous = prev[1], reason = reason})
  Agents.reindex_agent(aid)
  return true
end

-- `not_ready` needs one of the deployment's not-ready reasons when any are
-- configured (PUT /api/v1/not-ready-reasons); returns the refusal, or nil.
function Agents.check_reason(state, reason)
  if state ~= 'not_ready' then return nil end
  local reasons = cjson.decode(redis.call('GET', k('not_ready_reasons')) or '[]')
  if #reasons == 0 then return nil end
  for _, r in ipairs(reasons) do if r == reason then return nil end end
  return refuse('bad_request', 'reason must be one of the not-ready reasons: ' .. table.concat(reasons, ', '))
end
