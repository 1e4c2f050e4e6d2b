-- webhook_create: registers a webhook, keeping the deployment's cap. The first
-- webhook creates the events stream's consumer group at the stream's end ("$")
-- and the fan-out cursor there. Every webhook records `since`, the newest event
-- at its creation, and is given only later events, even while the group still
-- works through older ones.
-- ARGV[1] webhook id   ARGV[2] the webhook (JSON)   ARGV[3] now (ms)   ARGV[4] cap
-- ARGV[5] consumer group name
-- Returns `since`; -1 when the cap is reached, -2 when the id is taken.
local wid = ARGV[1]
if redis.call('HEXISTS', HOOKS, wid) == 1 then return -2 end
if redis.call('HLEN', HOOKS) >= tonumber(ARGV[4]) then return -1 end
local last = redis.call('XREVRANGE', EVENTS, '+', '-', 'COUNT', 1)
local since = '0-0'
if #last > 0 then since = last[1][1] end
local made = redis.pcall('XGROUP', 'CREATE', EVENTS, ARGV[5], '$', 'MKSTREAM')
if type(made) == 'table' and made.err then
  if not string.find(made.err, 'BUSYGROUP', 1, true) then return redis.error_reply(made.err) end
  redis.call('SET', CURSOR, since, 'NX')
else
  redis.call('SET', CURSOR, since)
end
redis.call('HSET', HOOKS, wid, ARGV[2])
redis.call('HSET', k(KEY.webhook, wid), 'since', since, 'created_at', ARGV[3])
return since
