-- archive_events_cursor: PostgreSQL holds the lifecycle events up to stream id
-- ARGV[1]. Moves only forward: two nodes may copy the same events.
-- KEYS[1] the cursor
local function parts(id)
  local ms, n = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(n)
end
local new_ms, new_n = parts(ARGV[1])
local old = redis.call('GET', KEYS[1])
if old then
  local old_ms, old_n = parts(old)
  if old_ms > new_ms or (old_ms == new_ms and old_n >= new_n) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
