-- view_queues (read only): configuration and live figures of the given queues.
-- ARGV[5..] queue ids
--- @include "includes/call"
--- @include "includes/conversations"
local views = {}
for i = 5, #ARGV do
  local qid = ARGV[i]
  local raw = redis.call('HGET', k(KEY.queue, qid), 'config')
  if raw then
    local oldest = redis.call('ZRANGE', k(KEY.queue_state, qid, 'age'), 0, 0, 'WITHSCORES')
    local available = 0
    for _, aid in ipairs(redis.call('SMEMBERS', k(KEY.queue_state, qid, 'members'))) do
      if redis.call('HGET', k(KEY.agent, aid), 'state') == 'available'
        and redis.call('SCARD', k(KEY.agent, aid, 'conns')) > 0 then
        available = available + 1
      end
    end
    views[#views + 1] = {id = qid, config = raw, waiting = redis.call('ZCARD', k(KEY.queue_state, qid, 'waiting')),
      longest_wait_ms = oldest[2] and (NOW - tonumber(oldest[2])) or 0, agents_available = available}
  end
end
return Conversations.done(views)
