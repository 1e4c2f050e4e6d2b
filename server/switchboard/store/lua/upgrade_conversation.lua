-- upgrade_conversation: gives a conversation written before routing records
-- existed (its routing fields were in the message-side hash) its routing
-- record and session list. Does nothing when the record exists, so nodes
-- upgrading at the same time do no harm.
-- ARGV[5] conversation id   ARGV[6] its routing fields (JSON object)
-- ARGV[7..] its session ids, oldest first
--- @include "includes/call"
--- @include "includes/conversations"
local cid = ARGV[5]
if redis.call('EXISTS', cv(cid)) == 1 then return Conversations.done(false) end
local fields = {}
for name, value in pairs(cjson.decode(ARGV[6])) do
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
if #fields == 0 then return Conversations.done(false) end
redis.call('HSET', cv(cid), unpack(fields))
if #ARGV >= 7 then redis.call('RPUSH', cv_sessions(cid), unpack(ARGV, 7)) end
return Conversations.done(true)
