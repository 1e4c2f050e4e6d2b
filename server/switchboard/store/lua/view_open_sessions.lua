-- view_open_sessions (read only): the card data of every session of the given
-- queues that has not closed: waiting, offered, connected, or waiting for its
-- wrap-up. For a supervisor's first look; bounded by the agents and the
-- waiting sessions of the deployment, never a scan of the keyspace.
-- ARGV[5..] queue ids
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/cards"
local wanted, seen, views = {}, {}, {}
for i = 5, #ARGV do wanted[ARGV[i]] = true end
local function add(sid)
  if seen[sid] then return end
  seen[sid] = true
  local s = redis.call('HMGET', k(KEY.session, sid), 'queue', 'status')
  if s[1] and wanted[s[1]] and s[2] ~= 'closed' then views[#views + 1] = Cards.session_view(sid) end
end
for qid in pairs(wanted) do
  for _, sid in ipairs(redis.call('ZRANGE', k(KEY.queue_state, qid, 'waiting'), 0, -1)) do add(sid) end
end
for _, aid in ipairs(redis.call('SMEMBERS', k('agents'))) do
  for _, sid in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'slots'))) do add(sid) end
  for _, oid in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'offers'))) do
    local sid = redis.call('HGET', k(KEY.offer, oid), 'session')
    if sid then add(sid) end
  end
end
return Conversations.done(views)
