-- connect: a socket of an agent ("a") or visitor ("v") said hello. Records its
-- presence, cancels a pending disconnect grace and returns what the welcome needs.
-- A newly connected agent is not_ready; one back within the grace keeps its state.
-- ARGV[5] kind: "a" or "v"   ARGV[6] agent or visitor id   ARGV[7] connection id
-- ARGV[8] agent token version ("" for visitors)
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/presence"
local kind, id, conn, token_version = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local conns = k(kind, id, 'conns')
local back_in_grace = redis.call('ZSCORE', DEADLINES, 'grace:' .. kind .. ':' .. id)
local fresh = redis.call('SCARD', conns) == 0 and not back_in_grace

if kind == 'v' then
  if redis.call('SISMEMBER', k('erased'), id) == 1 then return refuse('unauthorized', 'this visitor was erased') end
  Presence.add_connection('v', id, conn)
  redis.call('ZADD', k('visitors', 'online'), 0, id) -- listed by id (GET /visitors?online=true)
  Deadline.disarm('grace:v:' .. id)
  -- unknown here: new, or idle past the live window (PostgreSQL keeps its conversations)
  local known = redis.call('EXISTS', k(KEY.visitor, id)) == 1
  redis.call('HSETNX', k(KEY.visitor, id), 'created_at', NOW)
  redis.call('HSET', k(KEY.visitor, id), 'last_seen_at', NOW)
  redis.call('ZADD', k('archive', 'visitors'), 'NX', NOW, id)
  redis.call('ZADD', k('archive', 'idle_visitors'), NOW, id)
  local cid = redis.call('HGET', k(KEY.visitor, id), 'conv')
  local result = {conversation_id = cid or cjson.null, known = known}
  -- a finished conversation past the live window lives in PostgreSQL only
  local sid = cid and redis.call('HGET', cv(cid), 'session')
  if sid then result.session = Cards.session_view(sid) end
  return Conversations.done(result)
end

local a = hgetall(k(KEY.agent, id))
if not a or not a.queues then return refuse('unauthorized', 'unknown agent') end
if (a.token_version or '0') ~= token_version then return refuse('unauthorized', 'the token was revoked') end
Presence.add_connection('a', id, conn)
Deadline.disarm('grace:a:' .. id)
if fresh and a.state ~= 'not_ready' then Agents.set_agent_state(id, 'not_ready', '') end
Agents.reindex_agent(id)
Routing.route_all()

local sessions = {}
for _, sid in ipairs(redis.call('SMEMBERS', k(KEY.agent, id, 'slots'))) do
  sessions[#sessions + 1] = Cards.session_view(sid)
end
local offers = {}
for _, oid in ipairs(redis.call('SMEMBERS', k(KEY.agent, id, 'offers'))) do
  local frame = redis.call('HGET', k(KEY.offer, oid), 'frame')
  if frame then offers[#offers + 1] = cjson.decode(frame) end
end
a = redis.call('HMGET', k(KEY.agent, id), 'state', 'reason', 'since')
local state = {state = a[1], since = tonumber(a[3])}
if a[2] and a[2] ~= '' then state.reason = a[2] end
local monitoring = redis.call('SMEMBERS', k(KEY.agent, id, 'monitoring'))
return Conversations.done({state = state, sessions = sessions, offers = offers, monitoring = monitoring})
