-- archive_read: what the archive copies of a conversation's message side, in one
-- round trip: its history after what PostgreSQL confirmed, and its last activity.
-- Conversation keys only.
-- KEYS[1] conversation hash   KEYS[2] its history stream   ARGV[1] at most this many entries
-- Returns {last_activity or false, entries} (entries as XRANGE answers them).
local c = redis.call('HMGET', KEYS[1], 'archived_seq', 'last_activity')
local after = tonumber(c[1] or 0)
return {c[2] or false, redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', tonumber(ARGV[1]))}
