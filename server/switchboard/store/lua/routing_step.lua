-- routing_step: a waiting session reached one of its queue's routing steps; the
-- widened targeting may match agents that did not match before, so route again.
-- ARGV[5] session id   ARGV[6] step number (1-based)
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
local sid, step = ARGV[5], ARGV[6]
if not Deadline.take_due('step:' .. sid .. ':' .. step) then return Conversations.done(false) end
local s = redis.call('HMGET', k(KEY.session, sid), 'status', 'queue', 'overflow_in')
if s[1] ~= 'waiting' then return Conversations.done(false) end
ROUTE[s[2]] = true
-- the queues it overflowed to may have agents for the widened targeting too
for _, target in ipairs(words(s[3])) do Queues.route_session(target, sid) end
Routing.route_all()
return Conversations.done(true)
