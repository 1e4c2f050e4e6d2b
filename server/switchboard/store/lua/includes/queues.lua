-- Routing prelude: queues: configuration, entering and leaving, the estimated wait.
-- Provides: `Queues.*`: queue_config, serves_language, queue_name, entry_score, route_session, enqueue, spill, staffed, arm_waiting_deadlines, inactivity_limits, inactivity_due, ANSWERS_KEPT, ANSWER_WINDOW_MS, record_answer, wait_per_place, estimated_wait, dequeue.
--- @include "includes/call"
--- @include "includes/deadlines"

local Queues = {}

-- ------------------------------------------------------------------ queues

function Queues.queue_config(qid)
  local raw = redis.call('HGET', k(KEY.queue, qid), 'config')
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Whether the queue takes chats in `language`: a queue that names no languages takes any.
function Queues.serves_language(q, language)
  if #(q.languages or {}) == 0 then return true end
  for _, l in ipairs(q.languages) do if l == language then return true end end
  return false
end

function Queues.queue_name(qid)
  return redis.call('HGET', k(KEY.queue, qid), 'name') or qid
end

-- The waiting order is "effective priority first, then arrival". With the
-- queue's aging `a` (priority per minute), a chat of priority `p` that entered
-- at `T` has at time `t` the effective priority  p + a·(t − T)/60000.  For two
-- chats compared at the same `t`, `t` cancels out: A goes before B when
--   p_A − a·T_A/60000  >  p_B − a·T_B/60000,
-- that is, multiplying by −60000/a, when
--   T_A − p_A·60000/a  <  T_B − p_B·60000/a.
-- So the score  T − p·(60000/a)  orders the sorted set correctly at every
-- moment, and aging needs no rewriting of its members: a point of priority is
-- worth 60000/a ms of waiting. Equal scores are equal effective priorities
-- for ever (Redis then orders by member). Without aging a point is worth
-- PRIORITY_SCALE ms (centuries): priority first, then arrival.
function Queues.entry_score(q, priority, entered_at)
  local aging = tonumber(q.priority_aging_per_min) or 0
  local unit = aging > 0 and 60000 / aging or PRIORITY_SCALE
  return entered_at - priority * unit
end

-- Marks `sid` for routing in `qid` (every session of it when already marked whole).
function Queues.route_session(qid, sid)
  local route = ROUTE[qid]
  if route ~= true then
    route = route or {}
    route[sid] = true
    ROUTE[qid] = route
  end
end

-- `entered_at` is when the session entered this queue: its first queueing, or
-- the transfer that sent it here.
function Queues.enqueue(sid, qid, score, entered_at)
  redis.call('ZADD', k(KEY.queue_state, qid, 'waiting'), score, sid)
  redis.call('ZADD', k(KEY.queue_state, qid, 'age'), entered_at, sid)
  redis.call('HSET', k(KEY.session, sid), 'status', 'waiting', 'queue', qid, 'offer', '')
  Queues.route_session(qid, sid)
  if redis.call('HGET', k(KEY.session, sid), 'overflowed') == '1' then Queues.spill(sid, qid) end
end

-- Overflow: a session that overflowed still waits in its own queue (its place
-- and position stay there), and is also listed in q:<target>:overflow of each
-- queue of its queue's `overflow_to`, so that routing the target offers it to
-- the target's agents too. There it is scored as if it had entered the target
-- at the time it entered its own queue (the target's priority and aging, the
-- chat's own priority): it keeps its place in time. The session's `overflowed`
-- says it overflowed in its current queue; `overflow_in`, where it is listed.
function Queues.spill(sid, qid)
  local q = Queues.queue_config(qid)
  local s = redis.call('HMGET', k(KEY.session, sid), 'chat_priority', 'entered_at', 'queued_at', 'status')
  if not q or s[4] ~= 'waiting' then return end
  local entered_at = tonumber(s[2] or s[3])
  local targets = {}
  for _, target in ipairs(q.overflow_to or {}) do
    local tq = target ~= qid and Queues.queue_config(target)
    if tq then
      local priority = tonumber(tq.priority or 0) + (tonumber(s[1]) or 0)
      redis.call('ZADD', k(KEY.queue_state, target, 'overflow'), Queues.entry_score(tq, priority, entered_at), sid)
      Queues.route_session(target, sid)
      targets[#targets + 1] = target
    end
  end
  redis.call('HSET', k(KEY.session, sid), 'overflow_in', table.concat(targets, ' '))
end

-- Whether an agent of the queue is signed in: connected and not offline.
function Queues.staffed(qid)
  for _, aid in ipairs(redis.call('SMEMBERS', k(KEY.queue_state, qid, 'members'))) do
    if redis.call('SCARD', k(KEY.agent, aid, 'conns')) > 0
        and redis.call('HGET', k(KEY.agent, aid), 'state') ~= 'offline' then
      return true
    end
  end
  return false
end

-- Arms the queue's waiting deadlines of a session that entered queue `qid`:
-- max_wait_s ends it, each routing step routes it again when the step widens
-- the targeting, overflow_after_s overflows it. With no agent of the queue
-- signed in it overflows at once.
function Queues.arm_waiting_deadlines(sid, qid, q, entered_at, first_wait)
  if first_wait and type(q.max_wait_s) == 'number' then
    Deadline.arm('maxwait:' .. sid, entered_at + math.floor(q.max_wait_s * 1000))
  end
  for i, step in ipairs(q.steps or {}) do
    if step.after_s > 0 then Deadline.arm('step:' .. sid .. ':' .. i, entered_at + math.floor(step.after_s * 1000)) end
  end
  Deadline.disarm('overflow:' .. sid) -- the previous queue's (a transfer also clears `overflowed`)
  if #(q.overflow_to or {}) == 0 then return end
  if not Queues.staffed(qid) then
    redis.call('HSET', k(KEY.session, sid), 'overflowed', '1')
    Queues.spill(sid, qid)
  elseif type(q.overflow_after_s) == 'number' then
    Deadline.arm('overflow:' .. sid, entered_at + math.floor(q.overflow_after_s * 1000))
  end
end

-- Estimated wait: the queue learns, from its last answered sessions, how long a
-- customer waited per place in line (wait / position on entry), and multiplies
-- that by a customer's position. Nil (no estimate) until it has answered one in
-- the last hour. Free agents make the rate 0; a backlog makes it grow.
local ANSWERS_KEPT = 20
local ANSWER_WINDOW_MS = 3600 * 1000

function Queues.record_answer(qid, wait_ms, entry_position)
  local key = k(KEY.queue_state, qid, 'answers')
  redis.call('LPUSH', key, NOW .. ' ' .. wait_ms .. ' ' .. math.max(1, entry_position))
  redis.call('LTRIM', key, 0, ANSWERS_KEPT - 1)
end

function Queues.wait_per_place(qid)
  local waited, places = 0, 0
  for _, entry in ipairs(redis.call('LRANGE', k(KEY.queue_state, qid, 'answers'), 0, -1)) do
    local w = words(entry)
    if tonumber(w[1]) >= NOW - ANSWER_WINDOW_MS then
      waited = waited + tonumber(w[2])
      places = places + tonumber(w[3])
    end
  end
  if places == 0 then return nil end
  return waited / places
end

function Queues.estimated_wait(rate, position)
  if rate == nil then return nil end
  return math.floor(rate * position)
end

-- Inactivity: a connected session nobody wrote in for the queue's
-- inactivity_timeout_s (else the node's setting) ends; inactivity_warning_s
-- before that end the customer is warned, once per silence. The deadline
-- `inact:<sid>` falls due at the warning, then at the end (see inactivity.lua).
-- Returns the timeout and the warning (0: none), in ms.
function Queues.inactivity_limits(q)
  local timeout = INACTIVITY_MS
  if q and type(q.inactivity_timeout_s) == 'number' then timeout = math.floor(q.inactivity_timeout_s * 1000) end
  local warning = 0
  if q and type(q.inactivity_warning_s) == 'number' then
    warning = math.min(math.floor(q.inactivity_warning_s * 1000), timeout)
  end
  return timeout, warning
end

-- When the inactivity deadline of a session of `qid` silent since `last` is
-- due: at the warning while it has not been given for this silence, else at the end.
function Queues.inactivity_due(qid, last, warned)
  local timeout, warning = Queues.inactivity_limits(Queues.queue_config(qid))
  if warning > 0 and not warned then return last + timeout - warning end
  return last + timeout
end

function Queues.dequeue(sid, qid)
  redis.call('ZREM', k(KEY.queue_state, qid, 'waiting'), sid)
  redis.call('ZREM', k(KEY.queue_state, qid, 'age'), sid)
  for _, target in ipairs(words(redis.call('HGET', k(KEY.session, sid), 'overflow_in'))) do
    redis.call('ZREM', k(KEY.queue_state, target, 'overflow'), sid)
  end
  redis.call('HSET', k(KEY.session, sid), 'overflow_in', '')
  ROUTE[qid] = true
end
