-- wrap_up_timeout: an agent gave no wrap-up code in time; closes it with code null.
-- ARGV[5] session id   ARGV[6] agent id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid, aid = ARGV[5], ARGV[6]
if not Deadline.take_due('wrapup:' .. sid .. ':' .. aid) then return Conversations.done(false) end
if not has_word(redis.call('HGET', k(KEY.session, sid), 'wrapping'), aid) then return Conversations.done(false) end
Lifecycle.close_wrap_up(sid, aid, nil, 'Wrap-up timed out', nil)
Routing.route_all()
return Conversations.done(true)
