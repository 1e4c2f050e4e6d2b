-- put_canned: creates or replaces one canned response, keeping the deployment's cap.
-- Checking the count and writing in one step means two concurrent creations can
-- never push the number of responses past the cap.
-- KEYS[1] the canned responses hash
-- ARGV[1] response id   ARGV[2] the response (JSON, validated by the caller)   ARGV[3] cap
-- Returns 1 when it created the response, 0 when it replaced one, -1 when the cap is reached.
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1])
if exists == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1 - exists
