-- archive_release: this node is done with these items (PostgreSQL confirmed them,
-- or they are gone). A change made meanwhile marked the item pending again.
-- ARGV[5] the work: "dirty" or "visitors"   ARGV[6..] the items
--- @include "includes/call"
local claims = k('archive', ARGV[5], 'claims')
for i = 6, #ARGV do redis.call('ZREM', claims, ARGV[i]) end
return cjson.encode({ok = true})
