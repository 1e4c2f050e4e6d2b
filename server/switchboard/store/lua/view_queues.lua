-- view_queues (read only): configuration and live figures of the given queues.
-- ARGV[5..] queue ids
--- @include "includes/call"
--- @include "includes/conversations"
local views = {}
for i = 5, #ARGV do
  local qid = ARGV[i]
  local raw = redis.call('HGET', k('queue', qid), 'config')
  if raw then
    local oldest = redis.call('ZRANGE', k('q', qid, 'age'), 0, 0, 'WITHSCORES')
    local available = 0
    for _, aid in ipairs(redis.call('SMEMBERS', k('q', qid, 'members'))) do
      if redis.call('HGET', k('a', aid), 'state') == 'available'
        and redis.call('SCARD', k('a', aid, 'conns')) > 0 then
        available = available + 1
      end
    end
    views[#views + 1] = {id = qid, config = raw, waiting = redis.call('ZCARD', k('q', qid, 'waiting')),
      longest_wait_ms = oldest[2] and (NOW - tonumber(oldest[2])) or 0, agents_available = available}
  end
end
return Conversations.done(views)
