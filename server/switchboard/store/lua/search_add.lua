-- search_add: indexes the words of messages (or of new conversations' customer
-- fields) and marks their conversations active, in one step for a whole batch.
-- Only the search index's own keys, which share one hash tag.
-- KEYS[1] the activity sorted set   KEYS[2..] word sets, conversation by conversation
-- ARGV[1] now (ms)   then per conversation: its id, and how many of the next KEYS are its words
local now = ARGV[1]
local key = 2
for i = 2, #ARGV, 2 do
  local cid, n = ARGV[i], tonumber(ARGV[i + 1])
  for j = key, key + n - 1 do redis.call('SADD', KEYS[j], cid) end
  key = key + n
  -- GT: activity only moves forward, also when two nodes index out of order.
  redis.call('ZADD', KEYS[1], 'GT', now, cid)
end
return 1
