-- Routing prelude: routing: offers, the best agent, routing queues, positions, requeueing.
-- Provides: `Routing.*`: unguessable_id, connect_agent, offer_session, profile_serves, best_agent, ROUTE_SCAN, sticky_agent, candidates, route_queue, POSITION_SCAN, update_positions, announce_queued, index_ready_profiles, route_all, remove_offer, requeue.
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/agents"
--- @include "includes/cards"

local Routing = {}

-- Offer and invitation ids: a counter (unique) and a keyed hash of it, so that
-- nobody can work out someone else's id from its own. Every node writes a random
-- key at start (Router.ensure_id_key); the fallback only covers a store emptied
-- under a running node.
function Routing.unguessable_id(prefix, counter)
  local n = redis.call('INCR', k('seq', counter))
  local key = redis.call('GET', k('id_key'))
  if not key then
    local t = redis.call('TIME')
    key = redis.sha1hex(t[1] .. ':' .. t[2] .. ':' .. n .. ':' .. tostring(redis.call('DBSIZE')))
    redis.call('SET', k('id_key'), key, 'NX')
  end
  return prefix .. n .. '-' .. redis.sha1hex(key .. ':' .. prefix .. n)
end

local connect_agent -- defined below, used by offer_session for auto-accept queues

function Routing.offer_session(sid, s, q, aid)
  Queues.dequeue(sid, s.queue)
  if q.accept_mode == 'auto' then
    connect_agent(sid, aid)
    return
  end
  local oid = Routing.unguessable_id('o', 'offer')
  local expires_at = NOW + math.floor(q.offer_timeout_s * 1000)
  -- A session another agent sent to this queue is offered as a transfer, from that agent.
  local from = (s.transferred_from or '') ~= '' and s.transferred_from or nil
  local kind = from and 'transfer' or 'new'
  local frame = Cards.offer_frame(oid, sid, s, kind, expires_at, from)
  redis.call('HSET', k(KEY.offer, oid), 'session', sid, 'agent', aid, 'kind', kind,
    'offered_at', NOW, 'expires_at', expires_at, 'frame', cjson.encode(frame))
  redis.call('SADD', k(KEY.agent, aid, 'offers'), oid)
  -- An offer counts as an assignment for idle order: the next chat goes to the next idle agent.
  redis.call('HSET', k(KEY.agent, aid), 'idle_since', NOW)
  redis.call('HSET', k(KEY.session, sid), 'status', 'offered', 'offer', oid, 'offered_at', NOW)
  Deadline.arm('offer:' .. oid, expires_at)
  deliver({'a:' .. aid}, frame)
  lifecycle({type = 'session.offered', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = aid, offer_id = oid, kind = kind})
  Agents.reindex_agent(aid)
end

-- Whether agents of `profile` ("<languages>|<skills>", see agent_profile) may
-- take a session that needs `skills` (each at its level in `minimums`, if named
-- there) and one of `languages` (none: any): their total level over `skills`
-- when they may, else nil.
function Routing.profile_serves(profile, skills, languages, minimums)
  local langs, have = string.match(profile, '^(.-)|(.*)$')
  if #languages > 0 then
    local speaks = false
    for _, l in ipairs(languages) do if has_word(langs, l) then speaks = true break end end
    if not speaks then return nil end
  end
  local levels = {}
  for _, word in ipairs(words(have)) do
    local skill, level = string.match(word, '^(.-)=(%d)$')
    if skill then levels[skill] = tonumber(level) else levels[word] = DEFAULT_LEVEL end
  end
  local total = 0
  for _, x in ipairs(skills) do
    local level = levels[x]
    if not level or level < (tonumber(minimums[x]) or 0) then return nil end
    total = total + level
  end
  return total
end

-- The ready agent of `qid` that `sid` goes to: among the heads of the profiles
-- that serve it (skipping the agents that declined it), the longest idle; with
-- `best_skilled`, the highest total level over the required skills first.
function Routing.best_agent(qid, sid, need, profiles, best_skilled)
  local declined = k(KEY.session, sid, 'declined')
  local best, best_key = nil, nil
  for _, profile in ipairs(profiles) do
    local total = Routing.profile_serves(profile, need.skills, need.languages, need.minimums)
    if total then
      local key = k(KEY.queue_state, qid, 'rp', profile)
      local start = 0
      while true do
        local page = redis.call('ZRANGE', key, start, start + 7, 'WITHSCORES')
        if #page == 0 then break end
        local taken = false
        for i = 1, #page, 2 do
          local aid, score = page[i], tonumber(page[i + 1])
          if redis.call('SISMEMBER', declined, aid) == 0 then
            -- the skill first when the queue says so, then idle time; ties as in one sorted set: by member
            local rank = best_skilled and -total or 0
            if not best or rank < best_key[1] or (rank == best_key[1] and (score < best_key[2]
                or (score == best_key[2] and aid < best))) then
              best, best_key = aid, {rank, score}
            end
            taken = true
            break
          end
        end
        if taken then break end
        start = start + 8
      end
    end
  end
  return best
end

-- The agent a returning customer's session goes to first (its `sticky` agent,
-- until `sticky_until`) when that agent is ready in `qid`, eligible and has not
-- declined it; else nil.
function Routing.sticky_agent(qid, sid, need, sticky, sticky_until)
  if (sticky or '') == '' or (tonumber(sticky_until) or 0) < NOW then return nil end
  if not redis.call('ZSCORE', k(KEY.queue_state, qid, 'ready'), sticky) then return nil end
  if redis.call('SISMEMBER', k(KEY.session, sid, 'declined'), sticky) == 1 then return nil end
  local profile = redis.call('HGET', k(KEY.agent, sticky), 'rprofile')
  if not profile or not Routing.profile_serves(profile, need.skills, need.languages, need.minimums) then return nil end
  return sticky
end

-- The sessions routing `qid` tries, in order: its waiting ones and those of
-- other queues that overflowed to it, merged by score (the first ROUTE_SCAN),
-- or, with `only` (a set of session ids), just those of them.
local ROUTE_SCAN = 200
function Routing.candidates(qid, only)
  local waiting_key, overflow_key = k(KEY.queue_state, qid, 'waiting'), k(KEY.queue_state, qid, 'overflow')
  local scored = {}
  if type(only) == 'table' then
    for sid in pairs(only) do
      local score = redis.call('ZSCORE', waiting_key, sid) or redis.call('ZSCORE', overflow_key, sid)
      if score then scored[#scored + 1] = {sid, tonumber(score)} end
    end
  else
    for _, key in ipairs({waiting_key, overflow_key}) do
      local page = redis.call('ZRANGE', key, 0, ROUTE_SCAN - 1, 'WITHSCORES')
      for i = 1, #page, 2 do scored[#scored + 1] = {page[i], tonumber(page[i + 1])} end
    end
  end
  table.sort(scored, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  local sids = {}
  for i = 1, math.min(#scored, ROUTE_SCAN) do sids[i] = scored[i][1] end
  return sids
end

-- Offers the sessions routing `qid` tries (see candidates), in order, to the
-- agent of `qid` each goes to, until no session can be matched. A session is
-- matched by the rules of its own queue (targeting, selection, offer), also
-- when it overflowed here.
function Routing.route_queue(qid, only)
  local ready_key = k(KEY.queue_state, qid, 'ready')
  if not Queues.queue_config(qid) or redis.call('ZCARD', ready_key) == 0 then return end
  local configs = {}
  local profiles = redis.call('SMEMBERS', k(KEY.queue_state, qid, 'profiles'))
  for _, sid in ipairs(Routing.candidates(qid, only)) do
    if redis.call('ZCARD', ready_key) == 0 then return end
    -- what matching needs; the whole session only for the one that gets an agent
    local m = redis.call('HMGET', k(KEY.session, sid), 'held_until', 'skills', 'language', 'entered_at', 'queued_at', 'queue',
      'sticky', 'sticky_until')
    local home = m[6] and (configs[m[6]] or Queues.queue_config(m[6]))
    -- a session queued while the queue was closed waits for the opening
    if home and (tonumber(m[1]) or 0) <= NOW then
      configs[m[6]] = home
      local skills, languages, minimums = Cards.required_skills(
        {skills = m[2] or nil, language = m[3] or nil, entered_at = m[4] or nil, queued_at = m[5] or nil}, home)
      local need = {skills = skills, languages = languages, minimums = minimums}
      local aid = Routing.sticky_agent(qid, sid, need, m[7], m[8])
        or Routing.best_agent(qid, sid, need, profiles, home.agent_selection == 'best_skilled')
      if aid then
        Routing.offer_session(sid, hgetall(k(KEY.session, sid)), home, aid)
        profiles = redis.call('SMEMBERS', k(KEY.queue_state, qid, 'profiles'))
      end
    end
  end
end

-- Tells every waiting customer of `qid` whose place changed its new position.
local POSITION_SCAN = 100
function Routing.update_positions(qid)
  local waiting = redis.call('ZRANGE', k(KEY.queue_state, qid, 'waiting'), 0, POSITION_SCAN - 1)
  local rate = nil
  if #waiting > 0 then rate = Queues.wait_per_place(qid) end
  for i, sid in ipairs(waiting) do
    local s = redis.call('HMGET', k(KEY.session, sid), 'pos', 'visitor', 'conv')
    if tonumber(s[1]) ~= i then
      redis.call('HSET', k(KEY.session, sid), 'pos', i)
      if s[1] then
        deliver({'v:' .. s[2]}, {type = 'chat.position', conversation_id = s[3], session_id = sid, position = i,
          estimated_wait_ms = Queues.estimated_wait(rate, i)})
      end
    end
  end
end

-- Tells a customer its place after it (re-)entered a queue: `chat.queued`.
function Routing.announce_queued(sid, s)
  local rank = redis.call('ZRANK', k(KEY.queue_state, s.queue, 'waiting'), sid)
  if not rank then return end
  local position = rank + 1
  redis.call('HSET', k(KEY.session, sid), 'pos', position)
  local held = tonumber(redis.call('HGET', k(KEY.session, sid), 'held_until'))
  deliver({'v:' .. s.visitor}, {type = 'chat.queued', conversation_id = s.conv, session_id = sid,
    position = position, estimated_wait_ms = Queues.estimated_wait(Queues.wait_per_place(s.queue), position),
    opens_at = (held and held > NOW) and held or nil})
end

-- Routes every queue touched by this script, oldest head (by priority, then
-- age) first, so an agent that serves several queues takes the most urgent chat.
-- Indexes by profile the ready agents of a deployment that ran a version without
-- that index (once: the flag says it is done).
function Routing.index_ready_profiles()
  if redis.call('GET', k('ready_index')) == 'profiles' then return end
  for _, qid in ipairs(redis.call('SMEMBERS', k('queues'))) do
    for _, aid in ipairs(redis.call('ZRANGE', k(KEY.queue_state, qid, 'ready'), 0, -1)) do Agents.reindex_agent(aid) end
  end
  redis.call('SET', k('ready_index'), 'profiles')
end

function Routing.route_all()
  Routing.index_ready_profiles()
  local order = {}
  for qid, what in pairs(ROUTE) do
    local head = redis.call('ZRANGE', k(KEY.queue_state, qid, 'waiting'), 0, 0, 'WITHSCORES')
    order[#order + 1] = {qid, tonumber(head[2] or '1e300'), what}
  end
  table.sort(order, function(a, b) return a[2] < b[2] end)
  for _, entry in ipairs(order) do Routing.route_queue(entry[1], entry[3]) end
  for _, entry in ipairs(order) do Routing.update_positions(entry[1]) end
  ROUTE = {}
end

function Routing.remove_offer(oid)
  local o = hgetall(k(KEY.offer, oid))
  if not o then return nil end
  redis.call('DEL', k(KEY.offer, oid))
  redis.call('SREM', k(KEY.agent, o.agent, 'offers'), oid)
  Deadline.disarm('offer:' .. oid)
  return o
end

-- Puts an offered or orphaned session back in its queue at the place it had.
function Routing.requeue(sid)
  local s = redis.call('HMGET', k(KEY.session, sid), 'queue', 'score', 'queued_at')
  Queues.enqueue(sid, s[1], tonumber(s[2]), tonumber(s[3]))
end
