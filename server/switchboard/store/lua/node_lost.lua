-- node_lost: a gateway node stopped renewing its heartbeat deadline (it died or
-- lost Redis). Its sockets are dropped as if each had closed, so their agents
-- and visitors get the disconnect grace. A node that comes back registers its
-- live sockets again (see Services.heartbeat).
-- ARGV[5] node id
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/presence"
local node = ARGV[5]
if not Deadline.take_due('node:' .. node) then return Conversations.done(false) end
local key = k('node', node, 'conns')
local dropped = 0
for _, member in ipairs(redis.call('SMEMBERS', key)) do
  local w = words(member)
  if Presence.drop_connection(w[1], w[2], w[3]) then dropped = dropped + 1 end
end
redis.call('DEL', key)
Routing.route_all()
return Conversations.done(dropped)
