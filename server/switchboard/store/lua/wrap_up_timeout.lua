-- wrap_up_timeout: an agent gave no wrap-up code in time; closes it with code null.
-- ARGV[5] session id   ARGV[6] agent id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid, aid = ARGV[5], ARGV[6]
if not deadline.take_due('wrapup:' .. sid .. ':' .. aid) then return done(false) end
if not has_word(redis.call('HGET', k('s', sid), 'wrapping'), aid) then return done(false) end
close_wrap_up(sid, aid, nil, 'Wrap-up timed out', nil)
route_all()
return done(true)
