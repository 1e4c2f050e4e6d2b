-- archive_claim: hands this node a batch of archive work, oldest first, each item
-- leased to it until it confirms (archive_release) or the lease runs out (a node
-- that died while copying): then the item is pending again, for any node.
-- An item another node holds stays pending: one conversation is copied by one
-- node at a time, so its messages reach PostgreSQL in order.
-- ARGV[5] the work: "dirty" (conversations) or "visitors"
-- ARGV[6] how many at most   ARGV[7] the lease, ms
-- Returns the items (conversation or visitor ids).
--- @include "includes/call"
local work, limit, lease = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local pending, claims = k('archive', work), k('archive', work, 'claims')
for _, item in ipairs(redis.call('ZRANGEBYSCORE', claims, '-inf', NOW)) do
  redis.call('ZADD', pending, 'NX', NOW, item)
  redis.call('ZREM', claims, item)
end
local batch, busy = {}, {}
local popped = redis.call('ZPOPMIN', pending, limit)
for i = 1, #popped, 2 do
  local item, since = popped[i], popped[i + 1]
  if redis.call('ZSCORE', claims, item) then
    busy[#busy + 1] = since
    busy[#busy + 1] = item
  else
    batch[#batch + 1] = item
    redis.call('ZADD', claims, NOW + lease, item)
  end
end
if #busy > 0 then redis.call('ZADD', pending, unpack(busy)) end
return cjson.encode({ok = batch})
