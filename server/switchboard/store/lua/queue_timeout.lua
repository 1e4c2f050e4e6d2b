-- queue_timeout: a session still not connected after the queue's max_wait_s ends
-- with reason queue_timeout.
-- ARGV[5] session id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid = ARGV[5]
if not Deadline.take_due('maxwait:' .. sid) then return Conversations.done(false) end
local status = redis.call('HGET', k(KEY.session, sid), 'status')
if status ~= 'waiting' and status ~= 'offered' then return Conversations.done(false) end
Lifecycle.end_session(sid, 'queue_timeout')
Routing.route_all()
return Conversations.done(true)
