-- overflow: a session has waited its queue's overflow_after_s; from now on the
-- agents of the queue's overflow_to may take it too. A session on offer or with
-- an agent is marked only: it spills over if it waits again in this queue (a
-- transfer to another queue disarms this deadline and starts that queue's).
-- ARGV[5] session id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
local sid = ARGV[5]
if not Deadline.take_due('overflow:' .. sid) then return Conversations.done(false) end
local s = redis.call('HMGET', k(KEY.session, sid), 'status', 'queue')
if not s[1] or s[1] == 'wrap_up' or s[1] == 'closed' then return Conversations.done(false) end
redis.call('HSET', k(KEY.session, sid), 'overflowed', '1')
Queues.spill(sid, s[2])
Routing.route_all()
return Conversations.done(true)
