-- grace: an agent or visitor stayed away longer than the disconnect grace.
-- An agent becomes offline and its active sessions go back to the head of
-- their queue; a webchat customer's open session ends (messaging survives).
-- ARGV[5] kind: "a" or "v"   ARGV[6] agent or visitor id
local kind, id = ARGV[5], ARGV[6]
if not take_due('grace:' .. kind .. ':' .. id) then return done(false) end
if redis.call('SCARD', k(kind, id, 'conns')) > 0 then return done(false) end

if kind == 'v' then
  local cid = redis.call('HGET', k('v', id), 'conv')
  if not cid then return done(false) end
  local c = redis.call('HMGET', ck(cid), 'open', 'session', 'channel')
  if c[1] ~= '1' or c[3] == 'messaging' then return done(false) end
  local connected = redis.call('HGET', k('s', c[2]), 'connected_at')
  end_session(c[2], (connected and connected ~= '') and 'customer_ended' or 'customer_abandoned')
  route_all()
  return done(true)
end

set_agent_state(id, 'offline', 'Disconnected')
for _, sid in ipairs(redis.call('SMEMBERS', k('a', id, 'slots'))) do
  local s = hgetall(k('s', sid))
  if has_word(s.agents, id) then
    local rest = {}
    for _, a in ipairs(words(s.agents)) do if a ~= id then rest[#rest + 1] = a end end
    redis.call('HSET', k('s', sid), 'agents', table.concat(rest, ' '))
    redis.call('HSET', ck(s.conv), 'agents', table.concat(rest, ' '))
    redis.call('SREM', k('a', id, 'slots'), sid)
    local left = {type = 'chat.participant_left', session_id = sid, agent = agent_public(id)}
    append(s.conv, left)
    local to = {'v:' .. s.visitor}
    for _, a in ipairs(rest) do to[#to + 1] = 'a:' .. a end
    deliver(to, left)
    if #rest == 0 then
      disarm('inact:' .. sid)
      -- back to the head of its queue: ahead of every waiting session of its priority
      local head = redis.call('ZRANGE', k('q', s.queue, 'waiting'), 0, 0, 'WITHSCORES')
      if head[2] and tonumber(head[2]) <= tonumber(s.score) then
        redis.call('HSET', k('s', sid), 'score', tonumber(head[2]) - 1)
      end
      requeue(sid)
      redis.call('HSET', k('s', sid), 'owner', '')
      local position = redis.call('ZRANK', k('q', s.queue, 'waiting'), sid) + 1
      redis.call('HSET', k('s', sid), 'pos', position)
      deliver({'v:' .. s.visitor}, {type = 'chat.queued', conversation_id = s.conv, session_id = sid, position = position})
      lifecycle({type = 'session.transferred', conversation_id = s.conv, session_id = sid,
        queue = s.queue, agent = id, reason = 'agent_disconnected'})
    end
  end
end
reindex_agent(id)
route_all()
return done(true)
