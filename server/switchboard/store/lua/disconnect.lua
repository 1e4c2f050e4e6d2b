-- disconnect: a socket closed (see drop_connection in the prelude).
-- ARGV[5] kind: "a" or "v"   ARGV[6] agent or visitor id   ARGV[7] connection id
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/presence"
local dropped = Presence.drop_connection(ARGV[5], ARGV[6], ARGV[7])
Routing.route_all()
return Conversations.done(dropped)
