-- webhook_delete: removes a webhook with its waiting deliveries, dead letters, recent
-- deliveries and figures. Deleting the last one also removes the consumer group and the cursor,
-- so no node reads the events stream for nobody.
-- ARGV[1] webhook id   ARGV[2] lanes per webhook   ARGV[3] consumer group name
-- Returns 1, or 0 when there is no such webhook.
local wid = ARGV[1]
if redis.call('HDEL', HOOKS, wid) == 0 then return 0 end
local doomed = {k(KEY.webhook, wid), k(KEY.webhook, wid, 'jobs'), k(KEY.webhook, wid, 'tries'), k(KEY.webhook, wid, 'dead'), k(KEY.webhook, wid, 'deadinfo'), k(KEY.webhook, wid, 'recent')}
for n = 0, tonumber(ARGV[2]) - 1 do
  doomed[#doomed + 1] = lane_key(wid, n)
  redis.call('ZREM', DUE, lane_member(wid, n))
end
redis.call('UNLINK', unpack(doomed))
if redis.call('HLEN', HOOKS) == 0 then
  redis.pcall('XGROUP', 'DESTROY', EVENTS, ARGV[3])
  redis.call('DEL', CURSOR)
end
return 1
