-- put_invite_rule: creates or replaces one invite rule, keeping the deployment's cap,
-- and bumps the rules' version so that every node matches page views against the
-- new rules (see store/visitors.py).
-- KEYS[1] the rules hash   KEYS[2] the rules' version
-- ARGV[1] rule id   ARGV[2] the rule (JSON, validated by the caller)   ARGV[3] cap
-- Returns 1 when it created the rule, 0 when it replaced one, -1 when the cap is reached.
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1])
if exists == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1 - exists
