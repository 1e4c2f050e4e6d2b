-- revoke_token: every token issued so far for the agent stops working. A fresh
-- token version makes hello and the HTTP API refuse the old ones; the agent's
-- open sockets, on every node, are told to close (the gateway closes them with
-- 4401 and never forwards the frame).
-- ARGV[5] agent id
--- @include "includes/call"
--- @include "includes/conversations"
local aid = ARGV[5]
local key = k(KEY.agent, aid)
if not redis.call('HGET', key, 'queues') then return refuse('not_found', 'no such agent') end
local version = tostring(NOW) .. '.' .. redis.call('HINCRBY', key, 'revocations', 1)
redis.call('HSET', key, 'token_version', version)
deliver({'a:' .. aid}, {type = 'token.revoked', version = version})
return Conversations.done({agent_id = aid, token_version = version})
