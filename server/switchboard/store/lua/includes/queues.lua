-- Routing prelude: queues: configuration, entering and leaving, the estimated wait.
-- Provides: `Queues.*`: queue_config, queue_name, entry_score, enqueue, arm_waiting_deadlines, ANSWERS_KEPT, ANSWER_WINDOW_MS, record_answer, wait_per_place, estimated_wait, dequeue.
--- @include "includes/call"
--- @include "includes/deadlines"

local Queues = {}

-- ------------------------------------------------------------------ queues

function Queues.queue_config(qid)
  local raw = redis.call('HGET', k(KEY.queue, qid), 'config')
  if not raw then return nil end
  return cjson.decode(raw)
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

-- `entered_at` is when the session entered this queue: its first queueing, or
-- the transfer that sent it here.
function Queues.enqueue(sid, qid, score, entered_at)
  redis.call('ZADD', k(KEY.queue_state, qid, 'waiting'), score, sid)
  redis.call('ZADD', k(KEY.queue_state, qid, 'age'), entered_at, sid)
  redis.call('HSET', k(KEY.session, sid), 'status', 'waiting', 'queue', qid, 'offer', '')
  local route = ROUTE[qid]
  if route ~= true then
    route = route or {}
    route[sid] = true
    ROUTE[qid] = route
  end
end

-- Arms the queue's waiting deadlines of a new session: max_wait_s ends it,
-- each routing step routes it again when the step widens the targeting.
function Queues.arm_waiting_deadlines(sid, q, entered_at, first_wait)
  if first_wait and type(q.max_wait_s) == 'number' then
    Deadline.arm('maxwait:' .. sid, entered_at + math.floor(q.max_wait_s * 1000))
  end
  for i, step in ipairs(q.steps or {}) do
    if step.after_s > 0 then Deadline.arm('step:' .. sid .. ':' .. i, entered_at + math.floor(step.after_s * 1000)) end
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

function Queues.dequeue(sid, qid)
  redis.call('ZREM', k(KEY.queue_state, qid, 'waiting'), sid)
  redis.call('ZREM', k(KEY.queue_state, qid, 'age'), sid)
  ROUTE[qid] = true
end
