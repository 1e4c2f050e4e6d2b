-- invite: offers a visitor a chat in a queue: the `invite` frame to its sockets, the
-- invitation {sb}:invite:<id> (answerable for INVITE_TTL_MS, then gone) and the
-- lifecycle event invite.sent.
-- From a rule (the deadline invite:<vid>:<rule> fell due: the visitor stayed on a
-- matching page for seconds_on_page), it is sent only if the rule is still enabled
-- and its queue exists, the visitor is online, has no open chat, was not invited by
-- this rule in its current web session and, when the rule says
-- only_when_agents_available, the queue has an agent ready (available, connected,
-- with a free slot); else nothing happens.
-- Outbound (no rule): an admin, or an agent of the queue, invites; refusals as below.
-- ARGV[5] visitor id   ARGV[6] rule id ("" outbound)
-- ARGV[7] queue id     ARGV[8] text     ARGV[9] inviting agent id ("" the admin)
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/routing"
local INVITE_TTL_MS = 600000
local vid, rid = ARGV[5], ARGV[6]

local function online() return redis.call('SCARD', k(KEY.visitor, vid, 'conns')) > 0 end

local function chatting()
  local cid = redis.call('HGET', k(KEY.visitor, vid), 'conv')
  return cid and redis.call('HGET', cv(cid), 'open') == '1'
end

-- `source` is {rule = id}, {agent = id} or {} (the admin).
local function send(qid, text, source)
  local iid = Routing.unguessable_id('i', 'invite')
  local key = k(KEY.invite, iid)
  local expires_at = NOW + INVITE_TTL_MS
  redis.call('HSET', key, 'visitor', vid, 'queue', qid, 'text', text, 'sent_at', NOW,
    'expires_at', expires_at, 'state', 'pending')
  for field, value in pairs(source) do redis.call('HSET', key, field, value) end
  redis.call('PEXPIRE', key, INVITE_TTL_MS)
  deliver({'v:' .. vid}, {type = 'invite', invite_id = iid, queue = qid, text = text, expires_at = expires_at})
  lifecycle({type = 'invite.sent', invite_id = iid, visitor = vid, queue = qid, rule = source.rule,
    agent = source.agent, source = source.rule and 'rule' or (source.agent and 'agent' or 'admin')})
  return {invite_id = iid, visitor_id = vid, queue = qid, text = text, sent_at = NOW, expires_at = expires_at}
end

if rid ~= '' then
  if not Deadline.take_due('invite:' .. vid .. ':' .. rid) then return Conversations.done(false) end
  local raw = redis.call('HGET', k('invite_rules'), rid)
  local rule = raw and cjson.decode(raw)
  if not rule or not rule.enabled or not Queues.queue_config(rule.queue) then return Conversations.done(false) end
  if not online() or chatting() then return Conversations.done(false) end
  local wid = redis.call('ZRANGE', k(KEY.visitor, vid, 'webs'), -1, -1)[1]
  if not wid or redis.call('HEXISTS', k(KEY.web_session, wid), 'invited:' .. rid) == 1 then return Conversations.done(false) end
  if rule.only_when_agents_available and redis.call('ZCARD', k(KEY.queue_state, rule.queue, 'ready')) == 0 then
    return Conversations.done(false)
  end
  local sent = send(rule.queue, rule.text, {rule = rid})
  redis.call('HSET', k(KEY.web_session, wid), 'invited:' .. rid, sent.invite_id)
  return Conversations.done(true)
end

local qid, text, aid = ARGV[7], ARGV[8], ARGV[9]
if not Queues.queue_config(qid) then return refuse('bad_request', 'unknown queue: ' .. qid) end
if aid ~= '' and redis.call('SISMEMBER', k(KEY.queue_state, qid, 'members'), aid) == 0 then
  return refuse('forbidden', 'only agents of queue ' .. qid .. ' may invite to it')
end
if redis.call('EXISTS', k(KEY.visitor, vid)) == 0 then return refuse('not_found', 'no such visitor') end
if not online() then return refuse('conflict', 'the visitor is not online') end
if chatting() then return refuse('conflict', 'the visitor already has an open chat') end
return Conversations.done(send(qid, text, aid ~= '' and {agent = aid} or {}))
