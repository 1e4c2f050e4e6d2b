-- delete_queue: removes a queue that no session is waiting in.
-- ARGV[5] queue id
--- @include "includes/call"
--- @include "includes/conversations"
local qid = ARGV[5]
if redis.call('EXISTS', k(KEY.queue, qid)) == 0 then return refuse('not_found', 'no such queue') end
if redis.call('ZCARD', k(KEY.queue_state, qid, 'waiting')) > 0 then
  return refuse('conflict', 'sessions are waiting in this queue')
end
if redis.call('SCARD', k(KEY.queue_state, qid, 'members')) > 0 then
  return refuse('conflict', 'agents are still members of this queue: ' ..
    table.concat(redis.call('SMEMBERS', k(KEY.queue_state, qid, 'members')), ', '))
end
for _, profile in ipairs(redis.call('SMEMBERS', k(KEY.queue_state, qid, 'profiles'))) do redis.call('DEL', k(KEY.queue_state, qid, 'rp', profile)) end
redis.call('DEL', k(KEY.queue, qid), k(KEY.queue_state, qid, 'waiting'), k(KEY.queue_state, qid, 'age'), k(KEY.queue_state, qid, 'ready'), k(KEY.queue_state, qid, 'profiles'))
redis.call('SREM', k('queues'), qid)
return Conversations.done(true)
