-- delete_queue: removes a queue that no session is waiting in.
-- ARGV[5] queue id
--- @include "includes/call"
--- @include "includes/conversations"
local qid = ARGV[5]
if redis.call('EXISTS', k('queue', qid)) == 0 then return refuse('not_found', 'no such queue') end
if redis.call('ZCARD', k('q', qid, 'waiting')) > 0 then
  return refuse('conflict', 'sessions are waiting in this queue')
end
if redis.call('SCARD', k('q', qid, 'members')) > 0 then
  return refuse('conflict', 'agents are still members of this queue: ' ..
    table.concat(redis.call('SMEMBERS', k('q', qid, 'members')), ', '))
end
for _, profile in ipairs(redis.call('SMEMBERS', k('q', qid, 'profiles'))) do redis.call('DEL', k('q', qid, 'rp', profile)) end
redis.call('DEL', k('queue', qid), k('q', qid, 'waiting'), k('q', qid, 'age'), k('q', qid, 'ready'), k('q', qid, 'profiles'))
redis.call('SREM', k('queues'), qid)
return Conversations.done(true)
