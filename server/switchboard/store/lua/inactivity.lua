-- inactivity: ends a connected session in which nobody has written for its
-- queue's inactivity timeout, after warning the customer (inactivity_warning_s
-- before the end, once per silence: `inact_warned` holds the last activity it
-- was given for). Messages do not touch this deadline (they only stamp the
-- conversation's last activity); it is re-armed here, lazily, when it is early.
-- ARGV[5] session id   ARGV[6] the conversation's last activity (ms; "" unknown),
--                      which the Router reads from its message side
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid = ARGV[5]
if not Deadline.take_due('inact:' .. sid) then return Conversations.done(false) end
local s = redis.call('HMGET', k(KEY.session, sid), 'status', 'conv', 'queue', 'visitor', 'inact_warned')
if s[1] ~= 'active' and s[1] ~= 'conference' then return Conversations.done(false) end
local last = tonumber(ARGV[6]) or NOW
local timeout, warning = Queues.inactivity_limits(Queues.queue_config(s[3]))
local ends_at = last + timeout
if ends_at <= NOW then
  Lifecycle.end_session(sid, 'inactivity_timeout')
  Routing.route_all()
  return Conversations.done(true)
end
local warned = s[5] == tostring(last)
if warning > 0 and not warned and NOW >= ends_at - warning then
  redis.call('HSET', k(KEY.session, sid), 'inact_warned', tostring(last))
  deliver({'v:' .. s[4]}, {type = 'chat.inactivity_warning', conversation_id = s[2], session_id = sid, ends_at = ends_at})
  warned = true
end
Deadline.arm('inact:' .. sid, Queues.inactivity_due(s[3], last, warned))
return Conversations.done(false)
