-- outbox_trim: drops the ops conversation_apply has applied from the outboxes
-- of conversations; an outbox left empty disarms its repair deadline.
-- ARGV[5..] pairs: conversation id, the last op number applied
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
for i = 5, #ARGV, 2 do
  local cid, upto = ARGV[i], tonumber(ARGV[i + 1])
  local outbox = k('outbox', cid)
  while true do
    local head = redis.call('LINDEX', outbox, 0)
    if not head or cjson.decode(head).n > upto then break end
    redis.call('LPOP', outbox)
  end
  if redis.call('EXISTS', outbox) == 0 then Deadline.disarm('outbox:' .. cid) end
end
return Conversations.done(true)
