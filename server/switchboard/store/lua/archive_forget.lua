-- archive_forget (Cluster): removes a trimmed conversation's message side when
-- PostgreSQL confirmed all of it and it is not open.
-- KEYS[1] conversation hash   KEYS[2] its history stream   KEYS[3] its client_msg_id index
-- ARGV[1] "1": only when PostgreSQL has all of it; "0": whatever it has (retention)
local c = redis.call('HMGET', KEYS[1], 'seq', 'archived_seq', 'open')
if c[1] and c[3] == '1' then return 0 end
if c[1] and ARGV[1] == '1' and tonumber(c[2] or -1) < tonumber(c[1]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
