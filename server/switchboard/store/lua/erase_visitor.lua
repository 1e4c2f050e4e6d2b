-- erase_visitor: a visitor is erased (GDPR article 17). Its open chat ends with
-- reason `erased` (agents in it skip wrap-up: nothing is left to wrap up), its
-- sockets are told to close (4401) on every node, and every key that holds it,
-- its conversations, their sessions and history, or its journey is deleted. An
-- erased visitor's id stays in a set (the id only, never its data), so its
-- token can never say hello again. The caller then removes its events from the
-- events stream and PostgreSQL (gateway/privacy.py).
-- ARGV[5] visitor id
-- Returns {conversations = the ids erased, message_sides = the same, for the
-- caller to delete on a Cluster}.
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/lifecycle"
local vid = ARGV[5]
local visitor = k(KEY.visitor, vid)
local cids = redis.call('LRANGE', k(KEY.visitor, vid, 'convs'), 0, -1)
local latest = redis.call('HGET', visitor, 'conv')
if latest and not has_word(table.concat(cids, ' '), latest) then cids[#cids + 1] = latest end

for _, cid in ipairs(cids) do
  local sid = redis.call('HGET', cv(cid), 'session')
  if sid and redis.call('HGET', cv(cid), 'open') == '1' then Lifecycle.end_session(sid, 'erased') end
  for _, s in ipairs(redis.call('LRANGE', cv_sessions(cid), 0, -1)) do
    for _, aid in ipairs(words(redis.call('HGET', k(KEY.session, s), 'wrapping'))) do
      Lifecycle.close_wrap_up(s, aid, nil, 'Erased', '')
    end
  end
end
-- the frames above go out now, before the keys they name are gone
Conversations.publish_here()
deliver({'v:' .. vid}, {type = 'token.revoked', version = 'erased', reason = 'visitor erased'})

for _, cid in ipairs(cids) do
  for _, s in ipairs(redis.call('LRANGE', cv_sessions(cid), 0, -1)) do
    redis.call('DEL', k(KEY.session, s))
    for _, name in ipairs({'inact:', 'maxwait:'}) do Deadline.disarm(name .. s) end
  end
  redis.call('DEL', cv(cid), cv_sessions(cid), k('outbox', cid))
  Deadline.disarm('outbox:' .. cid)
  for _, aid in ipairs(redis.call('SMEMBERS', k('agents'))) do redis.call('ZREM', k(KEY.agent, aid, 'convs'), cid) end
  redis.call('ZREM', k('archive', 'dirty'), cid)
  redis.call('ZREM', k('archive', 'dirty', 'claims'), cid)
  redis.call('SREM', k('archive', 'routing'), cid)
  redis.call('ZREM', k('archive', 'finished'), cid)
  -- its ops were applied above (one Redis) or are dropped with the outbox (Cluster)
  CONV_OPS[cid] = nil
end
local kept, out = {}, {}
for _, cid in ipairs(CONV_ORDER) do if CONV_OPS[cid] then kept[#kept + 1] = cid end end
CONV_ORDER = kept
-- and the deliveries of the ops dropped with them
for _, d in ipairs(OUT) do if not (d.cid and not CONV_OPS[d.cid]) then out[#out + 1] = d end end
OUT = out

for _, wid in ipairs(redis.call('ZRANGE', k(KEY.visitor, vid, 'webs'), 0, -1)) do redis.call('DEL', k(KEY.web_session, wid)) end
for _, rid in ipairs(redis.call('SMEMBERS', k(KEY.visitor, vid, 'invite_timers'))) do
  Deadline.disarm('invite:' .. vid .. ':' .. rid)
end
redis.call('DEL', visitor, k(KEY.visitor, vid, 'convs'), k(KEY.visitor, vid, 'webs'), k(KEY.visitor, vid, 'journey'),
  k(KEY.visitor, vid, 'invite_timers'))
redis.call('ZREM', k('visitors', 'online'), vid)
redis.call('ZREM', k('archive', 'visitors'), vid)
redis.call('ZREM', k('archive', 'visitors', 'claims'), vid)
redis.call('ZREM', k('archive', 'idle_visitors'), vid)
redis.call('SADD', k('erased'), vid)
return Conversations.done({conversations = cids})
