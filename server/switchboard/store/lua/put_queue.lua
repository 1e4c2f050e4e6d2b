-- put_queue: creates or replaces a queue's configuration and routes it again
-- (new skills or languages may match agents that did not match before).
-- ARGV[5] queue id   ARGV[6] configuration (JSON, validated by the caller)
--- @include "includes/call"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
local qid, raw = ARGV[5], ARGV[6]
local q = cjson.decode(raw)
-- the chats of this queue that overflowed are matched by its new rules there too
local before = Queues.queue_config(qid)
for _, config in ipairs({before or {}, q}) do
  for _, target in ipairs(config.overflow_to or {}) do ROUTE[target] = true end
end
redis.call('HSET', k(KEY.queue, qid), 'config', raw, 'name', q.name)
redis.call('HSETNX', k(KEY.queue, qid), 'created_at', NOW)
redis.call('SADD', k('queues'), qid)
ROUTE[qid] = true
Routing.route_all()
return Conversations.done(true)
