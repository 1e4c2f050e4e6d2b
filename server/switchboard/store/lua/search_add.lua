-- search_add: indexes the words of a message (or of a new conversation's customer
-- fields) for one conversation and marks it active, in one step. Only the search
-- index's own keys, which share one hash tag.
-- KEYS[1] the activity sorted set   KEYS[2..] the word sets
-- ARGV[1] conversation id           ARGV[2] now (ms)
local cid = ARGV[1]
for i = 2, #KEYS do redis.call('SADD', KEYS[i], cid) end
-- GT: activity only moves forward, also when two nodes index out of order.
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], cid)
return 1
