-- inactivity: ends a connected session in which nobody has written for the
-- inactivity timeout. Messages do not touch this deadline (they only stamp the
-- conversation's last activity); it is re-armed here, lazily, when it is early.
-- ARGV[5] session id   ARGV[6] the conversation's last activity (ms; "" unknown),
--                      which the Router reads from its message side
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid = ARGV[5]
if not Deadline.take_due('inact:' .. sid) then return Conversations.done(false) end
local s = redis.call('HMGET', k(KEY.session, sid), 'status', 'conv')
if s[1] ~= 'active' and s[1] ~= 'conference' then return Conversations.done(false) end
local last = tonumber(ARGV[6]) or NOW
if last + INACTIVITY_MS > NOW then
  Deadline.arm('inact:' .. sid, last + INACTIVITY_MS)
  return Conversations.done(false)
end
Lifecycle.end_session(sid, 'inactivity_timeout')
Routing.route_all()
return Conversations.done(true)
