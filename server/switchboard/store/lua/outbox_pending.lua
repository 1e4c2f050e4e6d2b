-- outbox_pending: the repair deadline of a conversation's outbox fell due (the
-- node that ran its routing step died before applying it, or lost Redis). It
-- returns the pending ops, like a routing step, for the caller to apply, and
-- re-arms the deadline in case this caller fails as well.
-- ARGV[5] conversation id
-- ARGV[6] "now" (optional): apply at once, due or not: a message found the
--         conversation's message side behind its routing record (see
--         Router.post_message)
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
local cid = ARGV[5]
if ARGV[6] ~= 'now' and not Deadline.take_due('outbox:' .. cid) then return Conversations.done(false) end
local ops = redis.call('LRANGE', k('outbox', cid), 0, -1)
if #ops == 0 then return Conversations.done(false) end
redis.call('ZADD', DEADLINES, NOW + OUTBOX_REPAIR_MS, 'outbox:' .. cid)
local result = cjson.encode({ok = true, out = {}, conv = {{cid = cid, ops = ops}}})
return result
