-- monitor / unmonitor: a supervisor follows a conversation of one of its queues
-- silently (nobody else is told), or stops.
-- ARGV[5] supervisor id   ARGV[6] conversation id   ARGV[7] "monitor" or "unmonitor"
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/cards"
--- @include "includes/supervisors"
--- @include "includes/step_in"
local aid, cid, mode = ARGV[5], ARGV[6], ARGV[7]
local a = redis.call('HMGET', k(KEY.agent, aid), 'role', 'queues')
if a[1] ~= 'supervisor' then return refuse('forbidden', 'only supervisors can monitor conversations') end
if mode == 'unmonitor' then
  -- a supervisor who barged in and stops following the conversation leaves it first
  if StepIn.barged(cid, aid) then StepIn.leave(aid, cid, 'unmonitored') end
  Supervisors.stop_monitoring(aid, cid)
  return Conversations.done({conversation_id = cid, monitoring = false})
end
local sid = redis.call('HGET', cv(cid), 'session')
if not sid then return refuse('not_found', 'no such conversation') end
local qid = redis.call('HGET', k(KEY.session, sid), 'queue')
local mine = false
for _, q in ipairs(cjson.decode(a[2])) do if q == qid then mine = true end end
if not mine then return refuse('forbidden', 'the conversation is not in one of your queues') end
Supervisors.start_monitoring(aid, cid)
redis.call('HDEL', k(KEY.session, sid), 'help')  -- a supervisor is on it: the request is answered
return Conversations.done({conversation_id = cid, monitoring = true, session = Cards.session_view(sid),
  _history = History.mark(cid, HISTORY_LIMIT, false, 'messages')})
