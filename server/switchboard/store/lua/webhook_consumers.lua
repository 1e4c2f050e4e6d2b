-- webhook_consumers: forgets consumers of the events group that hold no entry
-- and have not read for ARGV[2] ms: nodes that are gone (a live node reads at
-- least every second, and one forgotten anyway is created again by its next read).
-- ARGV[1] consumer group name   ARGV[2] idle (ms)   ARGV[3] a consumer to forget now if it holds nothing
-- Returns how many were forgotten.
local consumers = redis.pcall('XINFO', 'CONSUMERS', EVENTS, ARGV[1])
if consumers.err then return 0 end -- no group
local gone = 0
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.pending == 0 and (f.idle > tonumber(ARGV[2]) or f.name == ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', EVENTS, ARGV[1], f.name)
    gone = gone + 1
  end
end
return gone
