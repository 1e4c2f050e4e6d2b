-- restore_history: the message side of a conversation that left Redis comes
-- back from PostgreSQL (a messaging customer returns to it), with its history
-- under the same ids, as if it had never left. Does nothing when the message
-- side is there. Conversation keys only.
-- KEYS[1] conversation hash   KEYS[2] its history stream
-- ARGV[1] visitor id   ARGV[2] now (ms)   ARGV[3..] triples: seq, audience, the frame (JSON)
-- Returns 1 when restored, 0 when it was there.
local conv, log = KEYS[1], KEYS[2]
if redis.call('EXISTS', conv) == 1 then return 0 end
local seq = 0
redis.call('DEL', log)
for i = 3, #ARGV, 3 do
  seq = tonumber(ARGV[i])
  redis.call('XADD', log, seq .. '-0', 'd', ARGV[i + 2], 'v', ARGV[i + 1])
end
redis.call('HSET', conv, 'seq', seq, 'archived_seq', seq, 'visitor', ARGV[1], 'agents', '', 'monitors', '',
  'open', '0', 'applied', 0, 'last_activity', ARGV[2])
return 1
