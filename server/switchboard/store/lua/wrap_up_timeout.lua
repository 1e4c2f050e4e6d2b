-- wrap_up_timeout: an agent gave no wrap-up code in time; closes it with the
-- queue's default_wrap_up_code, or with code null when it has none.
-- ARGV[5] session id   ARGV[6] agent id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local sid, aid = ARGV[5], ARGV[6]
if not Deadline.take_due('wrapup:' .. sid .. ':' .. aid) then return Conversations.done(false) end
if not has_word(redis.call('HGET', k(KEY.session, sid), 'wrapping'), aid) then return Conversations.done(false) end
local q = Queues.queue_config(redis.call('HGET', k(KEY.session, sid), 'queue')) or {}
local code, label = nil, 'Wrap-up timed out'
for _, wc in ipairs(q.wrap_up_codes or {}) do
  -- the queue may have dropped the code since it was set: then no code, as before
  if q.default_wrap_up_code ~= nil and wc.code == q.default_wrap_up_code then code, label = wc.code, wc.label end
end
Lifecycle.close_wrap_up(sid, aid, code, label, nil)
Routing.route_all()
return Conversations.done(true)
