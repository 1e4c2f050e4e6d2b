-- reassign: a supervisor moves a live conversation of one of its queues away from
-- the agents connected to it (each one's desk closes it, as after a transfer).
--   To an agent (one of the supervisor's agents, free as a transfer's target
--   must be): it is assigned at once, as if it had accepted a transfer.
--   To a queue: it waits there again, keeping its place in time (scored by
--   when the customer first queued, not by now).
-- Written as `session.transferred` with `by` (the supervisor), so every figure
-- that counts transfers counts it, and reports can tell it apart.
-- ARGV[5] supervisor id   ARGV[6] conversation id   ARGV[7] "queue" or "agent"   ARGV[8] target id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/side_offers"
--- @include "includes/lifecycle"
--- @include "includes/step_in"
local aid, cid, mode, target = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local refusal, sid, s = StepIn.check(aid, cid)
if refusal then return refusal end

local q
if mode == 'agent' then
  local t = redis.call('HMGET', k(KEY.agent, target), 'queues', 'state', 'capacity', 'role')
  if not t[1] then return refuse('not_found', 'no such agent: ' .. target) end
  local theirs = {}
  for _, qid in ipairs(cjson.decode(t[1])) do theirs[qid] = true end
  local mine = false
  for _, qid in ipairs(cjson.decode(redis.call('HGET', k(KEY.agent, aid), 'queues'))) do
    if theirs[qid] then mine = true end
  end
  if t[4] == 'supervisor' or not mine then return refuse('forbidden', target .. ' is not an agent of your queues') end
  if has_word(s.agents, target) then return refuse('conflict', target .. ' is already in this conversation') end
  local unfit = SideOffers.unfit_target(target, t[2], t[3])
  if unfit then return refuse('conflict', target .. ' ' .. unfit) end
else
  q = Queues.queue_config(target)
  if not q then return refuse('not_found', 'no such queue: ' .. target) end
  if not Queues.serves_language(q, s.language) then
    return refuse('conflict', 'queue ' .. target .. ' does not serve language ' .. s.language)
  end
end

-- Everyone connected leaves: the guests of a conference as removed, then the owner.
local taken_from = words(s.agents)
SideOffers.drop_side_offer(sid, 'reassigned', 'reassigned')
for _, guest in ipairs(taken_from) do
  if guest ~= s.owner then SideOffers.guest_left(sid, guest, 'removed') end
end
local to = Conversations.audience(cid, true)
SideOffers.remove_from_session(sid, s.owner)
local moved = {type = 'chat.transferred', session_id = sid, from_agent = Agents.agent_public(s.owner),
  by = Agents.agent_public(aid)}
local event = {type = 'session.transferred', conversation_id = cid, session_id = sid, queue = s.queue,
  agent = s.owner, by = aid, kind = mode}

if mode == 'agent' then
  local agent = Agents.agent_public(target)
  redis.call('SADD', k(KEY.agent, target, 'slots'), sid)
  redis.call('HSET', k(KEY.agent, target), 'idle_since', NOW)
  Lifecycle.remember_conversation(target, cid)
  Conversations.touch(cid)
  redis.call('HSET', k(KEY.session, sid), 'agents', target, 'owner', target, 'status', 'active')
  Conversations.update_conversation(cid, {agents = target})
  moved.agent = agent
  Conversations.append(cid, moved, to)
  Conversations.append(cid, {type = 'chat.connected', session_id = sid, agent = agent},
    Conversations.audience(cid, true))
  deliver({'a:' .. target}, {type = 'conversation.assigned', conversation_id = cid,
    _card = Cards.session_view(sid), _history = History.mark(cid, HISTORY_LIMIT, false, 'messages')})
  event.to_agent = target
  lifecycle(event)
  Agents.reindex_agent(target)
else
  Deadline.disarm('inact:' .. sid)
  for i = 1, 20 do Deadline.disarm('step:' .. sid .. ':' .. i) end
  -- A new routing in the new queue, not offered again to any agent it was taken from:
  -- a conference's guests are free now too, and would otherwise get it straight back.
  redis.call('DEL', k(KEY.session, sid, 'declined'))
  for _, previous in ipairs(taken_from) do
    redis.call('SADD', k(KEY.session, sid, 'declined'), previous)
  end
  local entered_at = tonumber(s.queued_at)
  local priority = tonumber(q.priority or 0) + (tonumber(s.chat_priority) or 0)
  local score = Queues.entry_score(q, priority, entered_at)
  redis.call('HSET', k(KEY.session, sid), 'queue', target, 'priority', priority, 'score', score,
    'entered_at', entered_at, 'owner', '', 'transferred_from', s.owner, 'status', 'waiting', 'overflowed', '')
  Queues.enqueue(sid, target, score, entered_at)
  Queues.arm_waiting_deadlines(sid, target, q, entered_at, false)
  -- its place in time: an overflow already due happens now, not at the next sweep
  if type(q.overflow_after_s) == 'number' and #(q.overflow_to or {}) > 0
      and redis.call('HGET', k(KEY.session, sid), 'overflowed') ~= '1'
      and entered_at + math.floor(q.overflow_after_s * 1000) <= NOW then
    Deadline.disarm('overflow:' .. sid)
    redis.call('HSET', k(KEY.session, sid), 'overflowed', '1')
    Queues.spill(sid, target)
  end
  moved.queue = {id = target, name = Queues.queue_name(target)}
  Conversations.append(cid, moved, to)
  Routing.announce_queued(sid, {queue = target, visitor = s.visitor, conv = cid})
  event.queue, event.from_queue = target, s.queue
  lifecycle(event)
end
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid, kind = mode, [mode] = target})
