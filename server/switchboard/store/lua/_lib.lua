-- Shared prelude of every routing script. The scripts are loaded as one Redis
-- Functions library (store/scripts.py): this prelude once, then each script's
-- body as a function that calls `begin` first. Loaded once, its helpers are
-- not rebuilt on every call as they would be for an EVAL script.
--
-- Calling convention of every script that includes this prelude:
--   KEYS[1]  routing root of the deployment, e.g. "{sb}"; every routing key is
--            KEYS[1] .. ":..." so they all hash to one Redis Cluster slot
--   ARGV[1]  name prefix, e.g. "sb"
--   ARGV[2]  now, milliseconds since the epoch (passed in so tests control time)
--   ARGV[3]  inactivity timeout, ms
--   ARGV[4]  disconnect grace, ms
--   ARGV[5]  "1": apply the conversation ops in this step (one Redis), "0": leave
--            them in the outboxes (Cluster); `begin` takes it out of ARGV, so
--   ARGV[5..] are, in the script, its own arguments (see its header)
-- Every script returns one JSON document: {ok = result, out = deliveries,
-- conv = pending conversation ops} or {err = {code, message}}. A script checks
-- everything before it writes, so a refusal leaves the state untouched.
--
-- A conversation has two sides. Its routing record {sb}:cv:<cid> (visitor,
-- channel, created_at, session, open, agents, monitors, ops) and session list
-- {sb}:cv:<cid>:sessions are the truth for routing and share the routing tag.
-- Its message side sb:c:{<cid>} (with the history stream ...:log and the
-- client_msg_id index ...:cmid) carries the conversation's own tag, so on Redis
-- Cluster it may live on another shard: it holds seq, last_activity, applied
-- and a replica of visitor, agents, monitors and open for the message path.
-- What a routing step has to do on the message side (append a history event,
-- update the replica) it writes as ops (see `conversation_op`). On Cluster they
-- go to the conversation's outbox, which the Router applies right after the
-- step with conversation_apply.lua; the step never touches the message side.
-- On one Redis the step applies them itself (`done`).

-- The state of one call. A library is loaded once and its functions run many
-- times, so `begin` sets these afresh at the start of every call.
local R, P, NOW, INACTIVITY_MS, GRACE_MS
-- true: apply this call's conversation ops here (one Redis: the message side is
-- at hand); false: leave them in the outboxes for conversation_apply (Cluster)
local APPLY_HERE
local OUT -- deliveries: {to = recipients, frame = frame}, or {cid, op} for an appended op
-- Queues to route at the end of the script: qid -> true when who can take a chat
-- changed (every waiting session is tried), or a set of sessions that just
-- entered it (only they are tried: the others already met the same agents).
local ROUTE
local DEADLINES
local CONV_OPS, CONV_ORDER -- conversation ops of this call, by conversation, and its order

local PRIORITY_SCALE = 1e13 -- score = -priority * scale + time entered: priority first, then age
local HISTORY_LIMIT = 500
local EVENTS_MAXLEN = 1000000

local function k(...) return R .. ':' .. table.concat({...}, ':') end
local function cv(cid) return k('cv', cid) end
local function cv_sessions(cid) return k('cv', cid, 'sessions') end

local function begin(KEYS, ARGV)
  R, P = KEYS[1], ARGV[1]
  NOW = tonumber(ARGV[2])
  INACTIVITY_MS = tonumber(ARGV[3])
  GRACE_MS = tonumber(ARGV[4])
  APPLY_HERE = ARGV[5] == '1'
  table.remove(ARGV, 5) -- each script's own arguments start at ARGV[5]
  OUT, ROUTE, CONV_OPS, CONV_ORDER = {}, {}, {}, {}
  DEADLINES = k('deadlines')
end

local function refuse(code, message)
  return cjson.encode({err = {code = code, message = message}})
end


local function deliver(to, frame)
  OUT[#OUT + 1] = {to = to, frame = frame}
end

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function words(s)
  local t = {}
  for w in string.gmatch(s or '', '%S+') do t[#t + 1] = w end
  return t
end

local function has_word(spaced, w)
  return string.find(' ' .. (spaced or '') .. ' ', ' ' .. w .. ' ', 1, true) ~= nil
end

-- Deployment-wide counters for /metrics, written in the same step as the event
-- they count (so every node reports the same totals and a crash never counts
-- an event twice). Hash {sb}:counters:
--   "<event type>|<queue>|<reason>"          count (queue and reason "" when none;
--                                            for agent.state_changed the new state)
--   "<histogram>|<queue>|<le>"               cumulative bucket count ("+Inf" last)
--   "<histogram>|<queue>|sum" / "|count"     sum of values (ms) and count
-- histograms: "answer" (wait_ms of session.connected), "handle" (handle_ms of session.ended)
local HISTOGRAM_BUCKETS_MS = {5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000}

local function observe(name, queue, value)
  local c = k('counters')
  for _, le in ipairs(HISTOGRAM_BUCKETS_MS) do
    if value <= le then redis.call('HINCRBY', c, name .. '|' .. queue .. '|' .. le, 1) end
  end
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|+Inf', 1)
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|sum', value)
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|count', 1)
end

local function lifecycle(event)
  event.ts = NOW
  redis.call('XADD', k('events'), 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'e', cjson.encode(event))
  local queue = event.queue or ''
  -- an agent's reason is free text: its counter is by the new state instead
  local detail = event.type == 'agent.state_changed' and event.state or (event.reason or '')
  redis.call('HINCRBY', k('counters'), event.type .. '|' .. queue .. '|' .. detail, 1)
  if event.type == 'session.connected' and not event.requeued then observe('answer', queue, event.wait_ms) end
  if event.type == 'session.ended' and event.handle_ms then observe('handle', queue, event.handle_ms) end
end

-- ------------------------------------------------------------------ deadlines

local function arm(member, at) redis.call('ZADD', DEADLINES, at, member) end
local function disarm(member) redis.call('ZREM', DEADLINES, member) end

-- True (and removes it) when `member` is due now: a deadline that another node
-- already handled, or that was re-armed for later, is left alone.
local function take_due(member)
  local at = redis.call('ZSCORE', DEADLINES, member)
  if not at or tonumber(at) > NOW then return false end
  redis.call('ZREM', DEADLINES, member)
  return true
end

-- ------------------------------------------------------------------ queues

local function queue_config(qid)
  local raw = redis.call('HGET', k('queue', qid), 'config')
  if not raw then return nil end
  return cjson.decode(raw)
end

local function queue_name(qid)
  return redis.call('HGET', k('queue', qid), 'name') or qid
end

-- `entered_at` is when the session entered this queue: its first queueing, or
-- the transfer that sent it here.
local function enqueue(sid, qid, score, entered_at)
  redis.call('ZADD', k('q', qid, 'waiting'), score, sid)
  redis.call('ZADD', k('q', qid, 'age'), entered_at, sid)
  redis.call('HSET', k('s', sid), 'status', 'waiting', 'queue', qid, 'offer', '')
  local route = ROUTE[qid]
  if route ~= true then
    route = route or {}
    route[sid] = true
    ROUTE[qid] = route
  end
end

-- Arms the queue's waiting deadlines of a new session: max_wait_s ends it,
-- each routing step routes it again when the step widens the targeting.
local function arm_waiting_deadlines(sid, q, entered_at, first_wait)
  if first_wait and type(q.max_wait_s) == 'number' then
    arm('maxwait:' .. sid, entered_at + math.floor(q.max_wait_s * 1000))
  end
  for i, step in ipairs(q.steps or {}) do
    if step.after_s > 0 then arm('step:' .. sid .. ':' .. i, entered_at + math.floor(step.after_s * 1000)) end
  end
end

-- Estimated wait: the queue learns, from its last answered sessions, how long a
-- customer waited per place in line (wait / position on entry), and multiplies
-- that by a customer's position. Nil (no estimate) until it has answered one in
-- the last hour. Free agents make the rate 0; a backlog makes it grow.
local ANSWERS_KEPT = 20
local ANSWER_WINDOW_MS = 3600 * 1000

local function record_answer(qid, wait_ms, entry_position)
  local key = k('q', qid, 'answers')
  redis.call('LPUSH', key, NOW .. ' ' .. wait_ms .. ' ' .. math.max(1, entry_position))
  redis.call('LTRIM', key, 0, ANSWERS_KEPT - 1)
end

local function wait_per_place(qid)
  local waited, places = 0, 0
  for _, entry in ipairs(redis.call('LRANGE', k('q', qid, 'answers'), 0, -1)) do
    local w = words(entry)
    if tonumber(w[1]) >= NOW - ANSWER_WINDOW_MS then
      waited = waited + tonumber(w[2])
      places = places + tonumber(w[3])
    end
  end
  if places == 0 then return nil end
  return waited / places
end

local function estimated_wait(rate, position)
  if rate == nil then return nil end
  return math.floor(rate * position)
end

local function dequeue(sid, qid)
  redis.call('ZREM', k('q', qid, 'waiting'), sid)
  redis.call('ZREM', k('q', qid, 'age'), sid)
  ROUTE[qid] = true
end

-- ------------------------------------------------------------------ conversations

-- Everyone who follows a conversation: its connected agents, the supervisors
-- monitoring it and, with `include_visitor`, its customer.
local function audience(cid, include_visitor)
  local c = redis.call('HMGET', cv(cid), 'visitor', 'agents', 'monitors')
  local to = {}
  if include_visitor and c[1] then to[1] = 'v:' .. c[1] end
  for _, a in ipairs(words(c[2])) do to[#to + 1] = 'a:' .. a end
  for _, a in ipairs(words(c[3])) do
    if not has_word(c[2], a) then to[#to + 1] = 'a:' .. a end
  end
  return to
end

-- Fields of the routing record that the message path reads from its replica.
local REPLICATED = {visitor = true, agents = true, monitors = true, open = true}

-- Sets fields of a conversation's routing record and of its replica.
-- Conversation ops: the outbox {sb}:outbox:<cid> is a list of JSON ops, each
-- numbered by the record's `ops` counter:
--   {n, at, set = {field = value}}   set fields of the replica
--   {n, at, touch = true}            last_activity = at (someone joined)
--   {n, at, append = frame, v = "all"|"agents", to = recipients, cmid = index key}
--                                    append frame to the history (it gets its
--                                    seq there) and deliver it to `to`
-- conversation_apply.lua applies them in order and skips the ones at or below
-- the replica's `applied`, so applying an outbox twice, or racing, is harmless.
-- The deadline outbox:<cid> makes the sweeper apply an outbox a crashed node
-- left behind; the Router trims applied ops at once (see outbox_trim.lua).
-- On one Redis (APPLY_HERE) a step applies its ops itself, in the same atomic
-- step, unless its conversation's outbox still holds ops of an earlier step:
-- those go first, so the step queues behind them.
local OUTBOX_REPAIR_MS = 3000

local function conversation_op(cid, op)
  op.n = redis.call('HINCRBY', cv(cid), 'ops', 1)
  op.at = NOW
  if not CONV_OPS[cid] then
    CONV_OPS[cid] = {}
    CONV_ORDER[#CONV_ORDER + 1] = cid
  end
  local ops = CONV_OPS[cid]
  ops[#ops + 1] = op
  return op.n
end

-- Fills the `_history` marks (see `history_mark`) of the result and of the
-- frames to deliver, on one Redis: the conversation's last events, read from
-- its message side once this step's ops are applied there. A conversation with
-- ops still in its outbox (`pending`) keeps its marks for the Router, which
-- reads them after applying the ops.
local function read_history(cid, limit, messages_only)
  local entries = redis.call('XREVRANGE', P .. ':c:{' .. cid .. '}:log', '+', '-', 'COUNT',
    limit * (messages_only and 3 or 1))
  local events = {}
  for i = #entries, 1, -1 do
    local payload = entries[i][2][2] -- fields: d, payload, v, visibility
    if not messages_only or string.find(payload, '"type":"message"', 1, true) then
      events[#events + 1] = cjson.decode(payload)
    end
  end
  if #events > limit then
    local last = {}
    for i = #events - limit + 1, #events do last[#last + 1] = events[i] end
    events = last
  end
  return events
end

local function fill_history(result, pending)
  local skip = {}
  for _, p in ipairs(pending) do skip[p.cid] = true end
  local read = {}
  local function fill(holder)
    local mark = type(holder) == 'table' and holder._history
    if not mark or skip[mark.cid] then return end
    local key = mark.cid .. '|' .. mark.limit .. '|' .. tostring(mark.messages_only)
    read[key] = read[key] or read_history(mark.cid, mark.limit, mark.messages_only)
    holder[mark.field] = read[key]
    holder._history = nil
  end
  fill(result)
  for _, d in ipairs(OUT) do fill(d.frame) end
end

-- LIST_FIELDS (fields that hold lists: Lua's cjson writes an empty list as {}, a frame
-- published from here has them written as []) comes from the generated prelude.

local function encode_frame(frame)
  local payload = cjson.encode(frame)
  if string.find(payload, ':{}', 1, true) then
    -- a key and its colon: inside a JSON string every quote is escaped, so no text matches
    for _, f in ipairs(LIST_FIELDS) do payload = string.gsub(payload, '"' .. f .. '":{}', '"' .. f .. '":[]') end
  end
  return payload
end

-- On one Redis, publishes the deliveries that are complete here; the Router
-- publishes the rest (a card it builds, history of a conversation with ops
-- pending, frames of ops left in an outbox).
local function publish_here()
  local rest = {}
  for _, d in ipairs(OUT) do
    local frame = d.frame
    if frame and not frame._card and not frame._history then
      local payload = encode_frame(frame)
      for _, r in ipairs(d.to or {}) do redis.call('PUBLISH', P .. ':push:{' .. r .. '}', payload) end
    else
      rest[#rest + 1] = d
    end
  end
  OUT = rest
end

-- The step's answer. Applies its conversation ops here, or leaves them in the
-- outboxes and returns every pending op for the Router to apply (`conv`).
local function done(result)
  if result == nil then result = true end
  local conv, appended = {}, {}
  for _, cid in ipairs(CONV_ORDER) do
    local outbox = k('outbox', cid)
    if APPLY_HERE and redis.call('EXISTS', outbox) == 0 then
      local c = P .. ':c:{' .. cid .. '}'
      local _, frames = apply_ops(c, c .. ':log', c .. ':cmid', cid, CONV_OPS[cid])
      appended[cid] = frames
    else
      local encoded = {}
      for i, op in ipairs(CONV_OPS[cid]) do encoded[i] = cjson.encode(op) end
      redis.call('RPUSH', outbox, unpack(encoded))
      redis.call('ZADD', DEADLINES, NOW + OUTBOX_REPAIR_MS, 'outbox:' .. cid)
      -- every pending op: ones a crashed step left behind are applied first
      conv[#conv + 1] = {cid = cid, ops = redis.call('LRANGE', outbox, 0, -1)}
    end
  end
  if APPLY_HERE then fill_history(result, conv) end
  if next(appended) then
    -- deliveries of appended frames, and the message's id and seq, filled in here
    for i, d in ipairs(OUT) do
      local f = d.op and appended[d.cid] and appended[d.cid][d.op]
      if f then OUT[i] = {to = f.to, frame = f.frame} end
    end
    if type(result) == 'table' and result._message_op then
      local f = appended[result.conversation_id] and appended[result.conversation_id][result._message_op]
      if f then
        result.message_id, result.seq, result._message_op = f.frame.message_id, f.frame.seq, nil
      end
    end
  end
  if APPLY_HERE then publish_here() end
  return cjson.encode({ok = result, out = OUT, conv = conv})
end

-- Sets fields of a conversation's routing record and of its replica.
local function update_conversation(cid, fields)
  local all, replica, replicated = {}, {}, false
  for name, value in pairs(fields) do
    all[#all + 1] = name
    all[#all + 1] = value
    if REPLICATED[name] then
      replica[name] = value
      replicated = true
    end
  end
  redis.call('HSET', cv(cid), unpack(all))
  if replicated then conversation_op(cid, {set = replica}) end
end

-- Someone joined: the inactivity timeout counts from now.
local function touch(cid)
  conversation_op(cid, {touch = true})
end

-- Appends a history event to the conversation and delivers it to `to` once it
-- has its seq (the Router fills in the delivery after applying the op).
-- `visibility` is "all" or "agents" (internal notes never reach a customer);
-- `cmid` ("role:sender:client_msg_id") indexes a client's message id.
local function append(cid, frame, to, visibility, cmid)
  local n = conversation_op(cid, {append = frame, to = to, v = visibility or 'all', cmid = cmid})
  OUT[#OUT + 1] = {cid = cid, op = n}
  return n
end

-- A message from the system (someone joined or left) into the history, to `to`.
local function system_message(cid, text, to)
  return append(cid, {type = 'message', from = {role = 'system'}, text = text}, to)
end

-- The conversation's last `limit` history events (messages only: its thread),
-- which the Router reads after applying the ops and puts in `field` of the
-- table holding this mark.
local function history_mark(cid, limit, messages_only, field)
  return {cid = cid, limit = limit, messages_only = messages_only, field = field}
end

-- ------------------------------------------------------------------ agents

local function agent_public(aid)
  return {id = aid, display_name = redis.call('HGET', k('a', aid), 'display_name') or aid}
end

local function agent_load(aid)
  return redis.call('SCARD', k('a', aid, 'slots')) + redis.call('SCARD', k('a', aid, 'offers'))
end

local function agent_active(aid)
  return redis.call('SCARD', k('a', aid, 'slots'))
end

-- The per-queue index of agents that can take a chat now (available, connected,
-- with a free slot), ordered by idle time, then by fewer active chats:
--   q:<qid>:ready              every such agent
--   q:<qid>:rp:<profile>       those of one profile: the same languages and skills
--   q:<qid>:profiles           the profiles that have a ready agent
-- Routing looks at each profile's head instead of at every ready agent, so its
-- cost grows with the number of distinct profiles, not with idle agents.
local function agent_profile(langs, skills)
  local l, x = words(langs), words(skills)
  table.sort(l)
  table.sort(x)
  return table.concat(l, ' ') .. '|' .. table.concat(x, ' ')
end

local function unindex_ready(qid, aid)
  redis.call('ZREM', k('q', qid, 'ready'), aid)
  local profile = redis.call('HGET', k('a', aid), 'rprofile')
  if profile then
    local key = k('q', qid, 'rp', profile)
    redis.call('ZREM', key, aid)
    if redis.call('ZCARD', key) == 0 then redis.call('SREM', k('q', qid, 'profiles'), profile) end
  end
end

local function reindex_agent(aid)
  local a = redis.call('HMGET', k('a', aid), 'state', 'queues', 'capacity', 'idle_since', 'langs', 'skills', 'rprofile')
  if not a[2] then return end
  local queues = cjson.decode(a[2])
  local ready = a[1] == 'available'
    and redis.call('SCARD', k('a', aid, 'conns')) > 0
    and agent_load(aid) < tonumber(a[3])
  local score = tonumber(a[4] or NOW) * 64 + math.min(agent_active(aid), 63)
  local profile = agent_profile(a[5], a[6])
  if a[7] and a[7] ~= profile then
    for _, qid in ipairs(queues) do unindex_ready(qid, aid) end
  end
  redis.call('HSET', k('a', aid), 'rprofile', profile)
  for _, qid in ipairs(queues) do
    if ready then
      -- Only an agent that was not ready in this queue (or serves other chats
      -- now) can take a session that is waiting: the waiting ones already met
      -- it. An offer or an accept that leaves it ready routes nothing again.
      local was_ready = a[7] == profile and redis.call('ZSCORE', k('q', qid, 'ready'), aid)
      redis.call('ZADD', k('q', qid, 'ready'), score, aid)
      redis.call('ZADD', k('q', qid, 'rp', profile), score, aid)
      redis.call('SADD', k('q', qid, 'profiles'), profile)
      if not was_ready then ROUTE[qid] = true end
    else
      unindex_ready(qid, aid)
    end
  end
end

local function set_agent_state(aid, state, reason)
  local key = k('a', aid)
  local prev = redis.call('HMGET', key, 'state', 'reason')
  if prev[1] == state and (prev[2] or '') == (reason or '') then return false end
  redis.call('HSET', key, 'state', state, 'reason', reason or '', 'since', NOW)
  if state == 'available' then redis.call('HSET', key, 'idle_since', NOW) end
  local frame = {type = 'agent.state', state = state, since = NOW}
  if reason and reason ~= '' then frame.reason = reason end
  deliver({'a:' .. aid}, frame)
  lifecycle({type = 'agent.state_changed', agent = aid, state = state, previous = prev[1], reason = reason})
  reindex_agent(aid)
  return true
end

-- ------------------------------------------------------------------ sessions

local function customer_of(s)
  local ok, c = pcall(cjson.decode, s.customer or '{}')
  if not ok or type(c) ~= 'table' then c = {} end
  return c
end

-- ------------------------------------------------------------------ visitors

-- A visitor's web sessions: {sb}:v:<vid>:webs holds their ids, scored by start.
-- A web session's pages are the journey entries from its start to its last page view.
local JOURNEY_LENGTH = 50

-- The web session in which time `at` fell (the latest one started by then), else
-- the visitor's current one; nil when it has none.
local function web_session_at(vid, at)
  local webs = k('v', vid, 'webs')
  return redis.call('ZREVRANGEBYSCORE', webs, at, '-inf', 'LIMIT', 0, 1)[1]
    or redis.call('ZRANGE', webs, -1, -1)[1]
end

-- The pages of web session `wid` kept in the visitor's journey; every kept page
-- when `wid` is nil (pages recorded before web sessions existed).
local function web_pages(vid, wid)
  local from, to = -math.huge, math.huge
  if wid then
    local w = redis.call('HMGET', k('web', wid), 'started_at', 'last_seen_at')
    from, to = tonumber(w[1]) or from, tonumber(w[2]) or to
  end
  local pages = {}
  for _, j in ipairs(redis.call('LRANGE', k('v', vid, 'journey'), -JOURNEY_LENGTH, -1)) do
    local page = cjson.decode(j)
    if page.ts >= from and page.ts <= to then pages[#pages + 1] = page end
  end
  return pages
end

-- A proactive invitation the visitor may still answer, or nil.
local function pending_invite(vid, iid)
  local invite = hgetall(k('invite', iid))
  if not invite or invite.visitor ~= vid or invite.state ~= 'pending' or tonumber(invite.expires_at) < NOW then
    return nil
  end
  return invite
end

-- Everything the domain needs to build a card (see domain/cards.py). Its journey
-- is the pages of the web session in which the session was queued.
local function session_view(sid)
  local s = hgetall(k('s', sid))
  if not s then return nil end
  s.queue_name = queue_name(s.queue)
  s.customer = customer_of(s)
  local agents = {}
  for _, a in ipairs(words(s.agents)) do agents[#agents + 1] = agent_public(a) end
  for _, a in ipairs(words(s.wrapping)) do
    if not has_word(s.agents, a) then agents[#agents + 1] = agent_public(a) end
  end
  s.agents = agents
  s.journey = web_pages(s.visitor, web_session_at(s.visitor, s.queued_at))
  if s.help then
    local help = cjson.decode(s.help)
    help.agent = agent_public(help.agent)
    s.help = help
  end
  return s
end

local function required_skills(s, q)
  local skills = {}
  for _, x in ipairs(q.skills or {}) do skills[#skills + 1] = x end
  for _, x in ipairs(cjson.decode(s.skills or '[]')) do skills[#skills + 1] = x end
  local languages = {s.language}
  -- Routing steps widen the targeting once the session has waited long enough
  -- in this queue (a transfer starts the steps of the new queue afresh).
  local waited = NOW - tonumber(s.entered_at or s.queued_at)
  for _, step in ipairs(q.steps or {}) do
    if waited >= step.after_s * 1000 then
      if type(step.skills) == 'table' then skills = step.skills end
      if type(step.languages) == 'table' then languages = step.languages end
    end
  end
  return skills, languages
end

local function offer_frame(oid, sid, s, kind, expires_at, from_agent)
  local frame = {
    type = 'offer', offer_id = oid, kind = kind, conversation_id = s.conv, session_id = sid,
    customer = customer_of(s), queue = {id = s.queue, name = queue_name(s.queue)},
    language = s.language, skills = cjson.decode(s.skills or '[]'),
    _history = history_mark(s.conv, THREAD_LENGTH, true, 'thread'),
    queued_at = tonumber(s.queued_at), offered_at = NOW, expires_at = expires_at,
  }
  frame.customer.verified = s.verified == '1'
  if from_agent then frame.from_agent = agent_public(from_agent) end
  return frame
end

-- Offer and invitation ids: a counter (unique) and a keyed hash of it, so that
-- nobody can work out someone else's id from its own. Every node writes a random
-- key at start (Router.ensure_id_key); the fallback only covers a store emptied
-- under a running node.
local function unguessable_id(prefix, counter)
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

local function offer_session(sid, s, q, aid)
  dequeue(sid, s.queue)
  if q.accept_mode == 'auto' then
    connect_agent(sid, aid)
    return
  end
  local oid = unguessable_id('o', 'offer')
  local expires_at = NOW + math.floor(q.offer_timeout_s * 1000)
  -- A session another agent sent to this queue is offered as a transfer, from that agent.
  local from = (s.transferred_from or '') ~= '' and s.transferred_from or nil
  local kind = from and 'transfer' or 'new'
  local frame = offer_frame(oid, sid, s, kind, expires_at, from)
  redis.call('HSET', k('offer', oid), 'session', sid, 'agent', aid, 'kind', kind,
    'offered_at', NOW, 'expires_at', expires_at, 'frame', cjson.encode(frame))
  redis.call('SADD', k('a', aid, 'offers'), oid)
  -- An offer counts as an assignment for idle order: the next chat goes to the next idle agent.
  redis.call('HSET', k('a', aid), 'idle_since', NOW)
  redis.call('HSET', k('s', sid), 'status', 'offered', 'offer', oid, 'offered_at', NOW)
  arm('offer:' .. oid, expires_at)
  deliver({'a:' .. aid}, frame)
  lifecycle({type = 'session.offered', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = aid, offer_id = oid, kind = kind})
  reindex_agent(aid)
end

-- Whether agents of `profile` ("<languages>|<skills>", see agent_profile) may
-- take a session that needs `skills` and one of `languages` (none: any).
local function profile_serves(profile, skills, languages)
  local langs, have = string.match(profile, '^(.-)|(.*)$')
  if #languages > 0 then
    local speaks = false
    for _, l in ipairs(languages) do if has_word(langs, l) then speaks = true break end end
    if not speaks then return false end
  end
  for _, x in ipairs(skills) do
    if not has_word(have, x) then return false end
  end
  return true
end

-- The longest idle ready agent of `qid` eligible for `sid`: the best head among
-- the profiles that serve it, skipping the agents that declined it.
local function best_agent(qid, sid, skills, languages, profiles)
  local declined = k('s', sid, 'declined')
  local best, best_score = nil, nil
  for _, profile in ipairs(profiles) do
    if profile_serves(profile, skills, languages) then
      local key = k('q', qid, 'rp', profile)
      local start = 0
      while true do
        local page = redis.call('ZRANGE', key, start, start + 7, 'WITHSCORES')
        if #page == 0 then break end
        local taken = false
        for i = 1, #page, 2 do
          local aid, score = page[i], tonumber(page[i + 1])
          if redis.call('SISMEMBER', declined, aid) == 0 then
            -- ties as in one sorted set: by member
            if not best or score < best_score or (score == best_score and aid < best) then
              best, best_score = aid, score
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

-- Offers waiting sessions of one queue, in queue order, to the longest idle
-- eligible agent each, until no session can be matched. `only` (a set of
-- session ids) limits it to sessions that just entered the queue.
local ROUTE_SCAN = 200
local function route_queue(qid, only)
  local q = queue_config(qid)
  if not q then return end
  local ready_key = k('q', qid, 'ready')
  if redis.call('ZCARD', ready_key) == 0 then return end
  local waiting
  if type(only) == 'table' then
    local scored = {}
    for sid in pairs(only) do
      local score = redis.call('ZSCORE', k('q', qid, 'waiting'), sid)
      if score then scored[#scored + 1] = {sid, tonumber(score)} end
    end
    table.sort(scored, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
    waiting = {}
    for i, entry in ipairs(scored) do waiting[i] = entry[1] end
  else
    waiting = redis.call('ZRANGE', k('q', qid, 'waiting'), 0, ROUTE_SCAN - 1)
  end
  local profiles = redis.call('SMEMBERS', k('q', qid, 'profiles'))
  for _, sid in ipairs(waiting) do
    if redis.call('ZCARD', ready_key) == 0 then return end
    -- what matching needs; the whole session only for the one that gets an agent
    local m = redis.call('HMGET', k('s', sid), 'held_until', 'skills', 'language', 'entered_at', 'queued_at')
    -- a session queued while the queue was closed waits for the opening
    if (tonumber(m[1]) or 0) <= NOW then
      local skills, languages = required_skills(
        {skills = m[2] or nil, language = m[3] or nil, entered_at = m[4] or nil, queued_at = m[5] or nil}, q)
      local aid = best_agent(qid, sid, skills, languages, profiles)
      if aid then
        offer_session(sid, hgetall(k('s', sid)), q, aid)
        profiles = redis.call('SMEMBERS', k('q', qid, 'profiles'))
      end
    end
  end
end

-- Tells every waiting customer of `qid` whose place changed its new position.
local POSITION_SCAN = 100
local function update_positions(qid)
  local waiting = redis.call('ZRANGE', k('q', qid, 'waiting'), 0, POSITION_SCAN - 1)
  local rate = nil
  if #waiting > 0 then rate = wait_per_place(qid) end
  for i, sid in ipairs(waiting) do
    local s = redis.call('HMGET', k('s', sid), 'pos', 'visitor', 'conv')
    if tonumber(s[1]) ~= i then
      redis.call('HSET', k('s', sid), 'pos', i)
      if s[1] then
        deliver({'v:' .. s[2]}, {type = 'chat.position', conversation_id = s[3], session_id = sid, position = i,
          estimated_wait_ms = estimated_wait(rate, i)})
      end
    end
  end
end

-- Tells a customer its place after it (re-)entered a queue: `chat.queued`.
local function announce_queued(sid, s)
  local rank = redis.call('ZRANK', k('q', s.queue, 'waiting'), sid)
  if not rank then return end
  local position = rank + 1
  redis.call('HSET', k('s', sid), 'pos', position)
  local held = tonumber(redis.call('HGET', k('s', sid), 'held_until'))
  deliver({'v:' .. s.visitor}, {type = 'chat.queued', conversation_id = s.conv, session_id = sid,
    position = position, estimated_wait_ms = estimated_wait(wait_per_place(s.queue), position),
    opens_at = (held and held > NOW) and held or nil})
end

-- Routes every queue touched by this script, oldest head (by priority, then
-- age) first, so an agent that serves several queues takes the most urgent chat.
-- Indexes by profile the ready agents of a deployment that ran a version without
-- that index (once: the flag says it is done).
local function index_ready_profiles()
  if redis.call('GET', k('ready_index')) == 'profiles' then return end
  for _, qid in ipairs(redis.call('SMEMBERS', k('queues'))) do
    for _, aid in ipairs(redis.call('ZRANGE', k('q', qid, 'ready'), 0, -1)) do reindex_agent(aid) end
  end
  redis.call('SET', k('ready_index'), 'profiles')
end

local function route_all()
  index_ready_profiles()
  local order = {}
  for qid, what in pairs(ROUTE) do
    local head = redis.call('ZRANGE', k('q', qid, 'waiting'), 0, 0, 'WITHSCORES')
    order[#order + 1] = {qid, tonumber(head[2] or '1e300'), what}
  end
  table.sort(order, function(a, b) return a[2] < b[2] end)
  for _, entry in ipairs(order) do route_queue(entry[1], entry[3]) end
  for _, entry in ipairs(order) do update_positions(entry[1]) end
  ROUTE = {}
end

local function remove_offer(oid)
  local o = hgetall(k('offer', oid))
  if not o then return nil end
  redis.call('DEL', k('offer', oid))
  redis.call('SREM', k('a', o.agent, 'offers'), oid)
  disarm('offer:' .. oid)
  return o
end

-- Puts an offered or orphaned session back in its queue at the place it had.
local function requeue(sid)
  local s = redis.call('HMGET', k('s', sid), 'queue', 'score', 'queued_at')
  enqueue(sid, s[1], tonumber(s[2]), tonumber(s[3]))
end

-- ------------------------------------------------------------------ transfers and conferences

-- A "side offer" is an offer of a session that stays with its agent meanwhile:
-- a transfer to a named agent, or a conference. A session has at most one; the
-- session hash keeps its id in `side_offer`, the offer hash names its sender.

local FAILURE_EVENT = {transfer = 'transfer.failed', conference = 'conference.failed'}

-- Removes the pending side offer of `sid`, if any. The target is told with
-- `revoked` (an offer.revoked reason, or nil when the target itself ended it);
-- the sender is told with `failed` (a transfer.failed / conference.failed reason,
-- or nil when the sender caused it and knows).
-- The side offer `o` (already removed) came to nothing: the session forgets it
-- and, with a reason, its sender is told.
local function side_offer_failed(oid, o, failed)
  if redis.call('HGET', k('s', o.session), 'side_offer') == oid then
    redis.call('HSET', k('s', o.session), 'side_offer', '')
  end
  if failed then
    deliver({'a:' .. o.sender}, {type = FAILURE_EVENT[o.kind], conversation_id = o.conv,
      session_id = o.session, agent = agent_public(o.agent), reason = failed})
  end
end

local function drop_side_offer(sid, revoked, failed)
  local oid = redis.call('HGET', k('s', sid), 'side_offer')
  if not oid or oid == '' then return nil end
  local o = remove_offer(oid)
  redis.call('HSET', k('s', sid), 'side_offer', '')
  if not o then return nil end
  side_offer_failed(oid, o, failed)
  if revoked then deliver({'a:' .. o.agent}, {type = 'offer.revoked', offer_id = oid, reason = revoked}) end
  reindex_agent(o.agent)
  return o
end

-- Checks that `target` can be offered a transfer or conference of session `s`
-- now; returns nil, or the refusal.
-- Why agent `aid` (in `state`, with `capacity`) cannot be handed a transfer or
-- conference now, or nil when it can: available, a socket open, a free slot.
-- The desk's picker (view_transfer_targets.lua) shows the same test as `free`.
local function unfit_target(aid, state, capacity)
  if state ~= 'available' or redis.call('SCARD', k('a', aid, 'conns')) == 0 then
    return 'is not available (' .. tostring(state) .. ')'
  end
  if agent_load(aid) >= (tonumber(capacity) or 0) then return 'has no free slot' end
  return nil
end

local function refuse_target(s, sender, target)
  local a = redis.call('HMGET', k('a', target), 'queues', 'state', 'capacity')
  if not a[1] then return refuse('not_found', 'no such agent: ' .. target) end
  if target == sender then return refuse('bad_request', 'you cannot send a conversation to yourself') end
  if has_word(s.agents, target) then return refuse('conflict', target .. ' is already in this conversation') end
  if (s.side_offer or '') ~= '' then
    return refuse('conflict', 'a transfer or conference offer for this conversation is already pending')
  end
  local unfit = unfit_target(target, a[2], a[3])
  if unfit then return refuse('conflict', target .. ' ' .. unfit) end
  return nil
end

-- Offers session `sid` to `target` as a transfer or conference from `sender`.
local function offer_side(sid, s, kind, sender, target)
  local q = queue_config(s.queue) or {offer_timeout_s = 20}
  local oid = unguessable_id('o', 'offer')
  local expires_at = NOW + math.floor(q.offer_timeout_s * 1000)
  local frame = offer_frame(oid, sid, s, kind, expires_at, sender)
  redis.call('HSET', k('offer', oid), 'session', sid, 'agent', target, 'kind', kind, 'sender', sender,
    'conv', s.conv, 'offered_at', NOW, 'expires_at', expires_at, 'frame', cjson.encode(frame))
  redis.call('SADD', k('a', target, 'offers'), oid)
  redis.call('HSET', k('s', sid), 'side_offer', oid)
  arm('offer:' .. oid, expires_at)
  deliver({'a:' .. target}, frame)
  lifecycle({type = 'session.offered', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = target, offer_id = oid, kind = kind, from_agent = sender})
  reindex_agent(target)
  return {offer_id = oid, expires_at = expires_at}
end

-- Takes `aid` out of the connected agents of session `sid` and frees its slot.
-- Returns the agents left.
local function remove_from_session(sid, aid)
  local s = redis.call('HMGET', k('s', sid), 'agents', 'conv', 'owner')
  local rest = {}
  for _, a in ipairs(words(s[1])) do if a ~= aid then rest[#rest + 1] = a end end
  local agents = table.concat(rest, ' ')
  redis.call('HSET', k('s', sid), 'agents', agents)
  if s[3] == aid then redis.call('HSET', k('s', sid), 'owner', rest[1] or '') end
  if #rest == 1 then redis.call('HSET', k('s', sid), 'status', 'active') end
  update_conversation(s[2], {agents = agents})
  redis.call('SREM', k('a', aid, 'slots'), sid)
  reindex_agent(aid)
  return rest
end

-- A conference guest leaves (or is removed, or disconnected): everyone is told.
local function guest_left(sid, aid, why)
  local s = redis.call('HMGET', k('s', sid), 'conv', 'queue')
  local to = audience(s[1], true)
  local rest = remove_from_session(sid, aid)
  append(s[1], {type = 'chat.participant_left', session_id = sid, agent = agent_public(aid)}, to)
  system_message(s[1], agent_public(aid).display_name .. ' left the conversation', to)
  local others = {}
  for _, a in ipairs(rest) do others[#others + 1] = 'a:' .. a end
  deliver(others, {type = 'conference.ended', conversation_id = s[1], session_id = sid, agent = agent_public(aid)})
  lifecycle({type = 'session.conference_ended', conversation_id = s[1], session_id = sid,
    queue = s[2], agent = aid, reason = why})
  return rest
end

-- The conversations an agent took part in, newest first, for its transcript
-- search (GET /conversations with its token); the oldest fall off.
local AGENT_CONVERSATIONS_KEPT = 1000
local function remember_conversation(aid, cid)
  local key = k('a', aid, 'convs')
  redis.call('ZADD', key, NOW, cid)
  redis.call('ZREMRANGEBYRANK', key, 0, -AGENT_CONVERSATIONS_KEPT - 1)
end

connect_agent = function(sid, aid)
  local s = hgetall(k('s', sid))
  local first = not s.connected_at or s.connected_at == ''
  redis.call('HSET', k('s', sid), 'status', 'active', 'agents', aid, 'owner', aid, 'offer', '', 'transferred_from', '')
  if first then
    redis.call('HSET', k('s', sid), 'connected_at', NOW)
    record_answer(s.queue, NOW - tonumber(s.queued_at), tonumber(s.entry_pos or 1))
  end
  redis.call('SADD', k('a', aid, 'slots'), sid)
  redis.call('HSET', k('a', aid), 'idle_since', NOW)
  remember_conversation(aid, s.conv)
  update_conversation(s.conv, {agents = aid})
  touch(s.conv)
  arm('inact:' .. sid, NOW + INACTIVITY_MS)
  disarm('maxwait:' .. sid) -- max_wait_s bounds the wait for a first agent only
  -- the agent finds it in conversation.assigned
  local to = audience(s.conv, true)
  for i, r in ipairs(to) do if r == 'a:' .. aid then table.remove(to, i) break end end
  append(s.conv, {type = 'chat.connected', session_id = sid, agent = agent_public(aid)}, to)
  deliver({'a:' .. aid}, {type = 'conversation.assigned', conversation_id = s.conv,
    _card = session_view(sid), _history = history_mark(s.conv, HISTORY_LIMIT, false, 'messages')})
  if first then
    lifecycle({type = 'session.connected', conversation_id = s.conv, session_id = sid,
      queue = s.queue, agent = aid, wait_ms = NOW - tonumber(s.queued_at)})
  else
    -- connected again after a transfer or a lost agent: `requeued`, and the wait
    -- is the one in its current queue (answer times count first connections only)
    lifecycle({type = 'session.connected', conversation_id = s.conv, session_id = sid, queue = s.queue,
      agent = aid, wait_ms = NOW - tonumber(s.entered_at or s.queued_at), requeued = true})
  end
  reindex_agent(aid)
end

-- Ends an open session. Connected agents go to wrap-up; the customer is told.
local function end_session(sid, reason)
  drop_side_offer(sid, 'customer_left', nil)
  local s = hgetall(k('s', sid))
  if s.status == 'offered' and s.offer ~= '' then
    local o = remove_offer(s.offer)
    if o then
      deliver({'a:' .. o.agent}, {type = 'offer.revoked', offer_id = s.offer, reason = 'customer_left'})
      reindex_agent(o.agent)
    end
  end
  if s.status == 'waiting' or s.status == 'offered' then dequeue(sid, s.queue) end
  local agents = words(s.agents)
  local q = queue_config(s.queue) or {wrap_up_timeout_s = 120}
  local status = #agents > 0 and 'wrap_up' or 'closed'
  redis.call('HSET', k('s', sid), 'status', status, 'ended_at', NOW, 'end_reason', reason,
    'agents', '', 'wrapping', table.concat(agents, ' '), 'offer', '')
  for _, aid in ipairs(agents) do
    arm('wrapup:' .. sid .. ':' .. aid, NOW + math.floor(q.wrap_up_timeout_s * 1000))
  end
  disarm('inact:' .. sid)
  local to = audience(s.conv, true)
  update_conversation(s.conv, {open = '0', agents = ''})
  append(s.conv, {type = 'chat.ended', session_id = sid, reason = reason}, to)
  if s.connected_at and s.connected_at ~= '' then
    -- Someone served the customer: ask how it went (kept in the history, so a
    -- customer that comes back later still gets the question).
    append(s.conv, {type = 'csat.requested', session_id = sid}, {'v:' .. s.visitor})
  end
  local event = {type = 'session.ended', conversation_id = s.conv, session_id = sid,
    queue = s.queue, reason = reason, agent = agents[1]}
  if s.connected_at and s.connected_at ~= '' then
    event.handle_ms = NOW - tonumber(s.connected_at)
    event.wait_ms = tonumber(s.connected_at) - tonumber(s.queued_at)
  else
    event.waited_ms = NOW - tonumber(s.queued_at) -- never connected: how long the customer waited
  end
  disarm('maxwait:' .. sid)
  lifecycle(event)
end

-- Closes one agent's wrap-up of an ended session; frees the slot.
local function close_wrap_up(sid, aid, code, label, notes)
  local s = hgetall(k('s', sid))
  local rest = {}
  for _, a in ipairs(words(s.wrapping)) do if a ~= aid then rest[#rest + 1] = a end end
  redis.call('HSET', k('s', sid), 'wrapping', table.concat(rest, ' '), 'wrap_code', code or '',
    'wrap_label', label, 'wrap_notes', notes or '', 'wrapped_at', NOW)
  if #rest == 0 then redis.call('HSET', k('s', sid), 'status', 'closed') end
  redis.call('SREM', k('a', aid, 'slots'), sid)
  disarm('wrapup:' .. sid .. ':' .. aid)
  local wrap = {code = code or cjson.null, label = label}
  if notes and notes ~= '' then wrap.notes = notes end
  deliver({'a:' .. aid}, {type = 'conversation.closed', conversation_id = s.conv, session_id = sid, wrap_up = wrap})
  lifecycle({type = 'session.wrapped_up', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = aid, code = code or cjson.null})
  reindex_agent(aid)
end

-- ------------------------------------------------------------------ supervisors

-- A supervisor monitoring a conversation receives its events without joining:
-- the conversation lists it in `monitors` (its replica is read by the message path too).
local function start_monitoring(aid, cid)
  local monitors = redis.call('HGET', cv(cid), 'monitors') or ''
  if not has_word(monitors, aid) then
    update_conversation(cid, {monitors = (monitors == '' and aid) or (monitors .. ' ' .. aid)})
  end
  redis.call('SADD', k('a', aid, 'monitoring'), cid)
end

local function stop_monitoring(aid, cid)
  redis.call('SREM', k('a', aid, 'monitoring'), cid)
  if redis.call('EXISTS', cv(cid)) == 0 then return end
  local rest = {}
  for _, m in ipairs(words(redis.call('HGET', cv(cid), 'monitors'))) do
    if m ~= aid then rest[#rest + 1] = m end
  end
  update_conversation(cid, {monitors = table.concat(rest, ' ')})
end

-- ------------------------------------------------------------------ presence

-- Every socket is registered under its node ("<node>:<n>" is its connection
-- id), so the sockets of a node that died can be dropped by another node.
local function node_of(conn) return string.match(conn, '^([^:]+):') or conn end

local function add_connection(kind, id, conn)
  redis.call('SADD', k(kind, id, 'conns'), conn)
  redis.call('SADD', k('node', node_of(conn), 'conns'), kind .. ' ' .. id .. ' ' .. conn)
end

-- Removes one socket. When it was the last one of its agent or visitor, the
-- disconnect grace starts; an agent's pending offers are revoked at once
-- (nobody is there to answer them) and it gets no new ones meanwhile.
local function drop_connection(kind, id, conn)
  local conns = k(kind, id, 'conns')
  redis.call('SREM', k('node', node_of(conn), 'conns'), kind .. ' ' .. id .. ' ' .. conn)
  if redis.call('SREM', conns, conn) == 0 or redis.call('SCARD', conns) > 0 then return false end
  if kind == 'v' then redis.call('ZREM', k('visitors', 'online'), id) end
  arm('grace:' .. kind .. ':' .. id, NOW + GRACE_MS)
  if kind == 'a' then
    for _, oid in ipairs(redis.call('SMEMBERS', k('a', id, 'offers'))) do
      local o = remove_offer(oid)
      if not o then
        -- already gone: nothing to put back
      elseif o.sender then
        side_offer_failed(oid, o, 'agent_disconnected')
      else
        local s = hgetall(k('s', o.session))
        if s and s.status == 'offered' and s.offer == oid then requeue(o.session) end
      end
      deliver({'a:' .. id}, {type = 'offer.revoked', offer_id = oid, reason = 'agent_disconnected'})
    end
    reindex_agent(id)
  end
  return true
end
