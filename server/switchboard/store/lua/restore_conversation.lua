-- restore_conversation: the routing side of a conversation that left Redis comes
-- back from PostgreSQL (after restore_history brought its message side): its
-- record, closed, and its sessions. A customer who then writes opens a new
-- session in it, as if it had never left. Does nothing when the record is there.
-- ARGV[5] conversation id   ARGV[6] the record (JSON: visitor, channel, created_at)
-- ARGV[7..] the sessions, oldest first (JSON objects of their stored fields)
-- Returns the id of its last session, or false when it was there.
--- @include "includes/call"
--- @include "includes/conversations"
local cid, record = ARGV[5], cjson.decode(ARGV[6])
if redis.call('EXISTS', cv(cid)) == 1 then return Conversations.done(false) end
local last
for i = 7, #ARGV do
  local s = cjson.decode(ARGV[i])
  local fields = {}
  for name, value in pairs(s) do
    fields[#fields + 1] = name
    fields[#fields + 1] = value
  end
  redis.call('HSET', k(KEY.session, s.id), unpack(fields))
  redis.call('RPUSH', cv_sessions(cid), s.id)
  last = s.id
end
redis.call('HSET', cv(cid), 'visitor', record.visitor, 'channel', record.channel, 'created_at', record.created_at,
  'session', last, 'open', '0', 'agents', '', 'monitors', '', 'ops', 0)
redis.call('HSET', k(KEY.visitor, record.visitor), 'conv', cid)
-- it may leave again after the live window if nothing happens
redis.call('ZADD', k('archive', 'finished'), NOW, cid)
return Conversations.done(last)
