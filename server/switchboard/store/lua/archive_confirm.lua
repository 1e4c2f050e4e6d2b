-- archive_confirm: PostgreSQL holds the conversation's history up to `seq`.
-- Conversation keys only. Never creates the conversation (it may have been
-- erased meanwhile) and never moves the mark back.
-- KEYS[1] conversation hash   ARGV[1] seq
local seq = tonumber(ARGV[1])
local c = redis.call('HMGET', KEYS[1], 'seq', 'archived_seq')
if not c[1] then return 0 end
if not c[2] or seq > tonumber(c[2]) then redis.call('HSET', KEYS[1], 'archived_seq', seq) end
return 1
