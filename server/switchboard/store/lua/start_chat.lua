-- start_chat: opens a conversation and its first session (mode "new"), or a new
-- session in the visitor's ended conversation (mode "reopen"), queues it and
-- routes it. The customer's first text becomes the first message.
-- ARGV[5] visitor id       ARGV[6] conversation id   ARGV[7] session id
-- ARGV[8] queue id         ARGV[9] language          ARGV[10] skills (JSON array)
-- ARGV[11] channel         ARGV[12] customer (JSON)  ARGV[13] attributes (JSON)
-- ARGV[14] text ("" none)  ARGV[15] mode            ARGV[16] client_msg_id
-- ARGV[17] hold until (ms; "" none): the queue is closed, the session waits
--          unrouted until it opens   ARGV[18] the queue's closed message
-- ARGV[19] invite id (optional): the chat accepts this proactive invitation and
--          opens in its queue (see invite.lua)
-- ARGV[20] the chat's own priority (optional; 0 to the queue's max_chat_priority),
--          added to the queue's; a reopened session keeps the conversation's
-- ARGV[21] "1": the host site vouched for the customer (a signed identity)
-- ARGV[22] "bot": the session starts in the bot stage (status `bot`): in its queue
--          but not waiting in it, offered to nobody until `handoff`
--          (a queue with a `bot` sends the customer's messages to it: includes/bots.lua)
-- ARGV[23] what a bot says of the chat so far ("" none): shown with its offer and card
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/bots"
local vid, cid, sid = ARGV[5], ARGV[6], ARGV[7]
local hold_until, closed_message = tonumber(ARGV[17]), ARGV[18]
if hold_until and hold_until <= NOW then hold_until = nil end
local qid, language, skills, channel = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local customer, attributes, text, mode, cmid = ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16]

local in_bot_stage = ARGV[22] == 'bot'
local summary = ARGV[23] or ''
local invite_id = ARGV[19] or ''
local chat_priority = tonumber(ARGV[20]) or 0
local invite = nil
if invite_id ~= '' then
  invite = Cards.pending_invite(vid, invite_id)
  if not invite then return refuse('not_found', 'no such invitation') end
  qid = invite.queue
end

local current = redis.call('HGET', k(KEY.visitor, vid), 'conv')
-- The customer's own claims never verify it; the host site's signed identity does.
local verified = ARGV[21] == '1' and '1' or '0'
if mode == 'reopen' then
  if current ~= cid then return refuse('not_found', 'no such conversation') end
  if redis.call('HGET', cv(cid), 'open') == '1' then return refuse('conflict', 'the session is still open') end
  local last = hgetall(k(KEY.session, redis.call('HGET', cv(cid), 'session')))
  qid, language, skills, channel = last.queue, last.language, last.skills, last.channel
  customer, attributes = last.customer, last.attributes
  chat_priority = tonumber(last.chat_priority) or 0
  verified = last.verified -- an agent verified this customer in this conversation
else
  if current and redis.call('HGET', cv(current), 'open') == '1' then
    return refuse('conflict', 'a chat is already open')
  end
end

local q = Queues.queue_config(qid)
if not q then return refuse('not_found', 'no such queue') end
if mode ~= 'reopen' and not Queues.serves_language(q, language) then
  return refuse('bad_request', 'the queue does not serve language ' .. language)
end

if mode ~= 'reopen' and chat_priority > (tonumber(q.max_chat_priority) or 0) then
  return refuse('bad_request', 'the queue allows a chat priority of at most ' .. (tonumber(q.max_chat_priority) or 0))
end

-- Sticky agent: the agent in charge of the visitor's last session, while that
-- session ended at most the queue's sticky_for_s ago (see Routing.sticky_agent).
local sticky, sticky_until = '', ''
local previous = current and redis.call('HGET', cv(current), 'session')
if type(q.sticky_for_s) == 'number' and previous then
  local p = redis.call('HMGET', k(KEY.session, previous), 'owner', 'ended_at')
  local ended_at = tonumber(p[2])
  if p[1] and p[1] ~= '' and ended_at and ended_at + math.floor(q.sticky_for_s * 1000) >= NOW then
    sticky, sticky_until = p[1], ended_at + math.floor(q.sticky_for_s * 1000)
  end
end

if mode ~= 'reopen' then
  Conversations.update_conversation(cid, {visitor = vid, channel = channel, created_at = NOW, agents = ''})
  redis.call('HSET', k(KEY.visitor, vid), 'conv', cid)
  redis.call('RPUSH', k(KEY.visitor, vid, 'convs'), cid)
end
Conversations.update_conversation(cid, {session = sid, open = '1'})
Conversations.touch(cid)
redis.call('RPUSH', cv_sessions(cid), sid)

local priority = tonumber(q.priority or 0) + chat_priority
local score = Queues.entry_score(q, priority, NOW)
redis.call('HSET', k(KEY.session, sid), 'id', sid, 'conv', cid, 'visitor', vid, 'queue', qid,
  'language', language, 'skills', skills, 'channel', channel, 'priority', priority, 'chat_priority', chat_priority,
  'sticky', sticky, 'sticky_until', sticky_until,
  'score', score, 'queued_at', NOW, 'customer', customer, 'attributes', attributes,
  'verified', verified or '0', 'agents', '', 'wrapping', '', 'entered_at', hold_until or NOW)
if summary ~= '' then redis.call('HSET', k(KEY.session, sid), 'summary', summary) end
if in_bot_stage then
  redis.call('HSET', k(KEY.session, sid), 'status', 'bot')
  hold_until = nil
else
  Queues.enqueue(sid, qid, score, NOW)
  -- A held session's wait (routing steps, max_wait_s) starts when the queue opens.
  Queues.arm_waiting_deadlines(sid, qid, q, hold_until or NOW, true)
end
if hold_until then
  redis.call('HSET', k(KEY.session, sid), 'held_until', hold_until)
  Deadline.arm('step:' .. sid .. ':0', hold_until) -- routes it at the opening
end

local bot_recipients = {}
if in_bot_stage then bot_recipients = Bots.enter(cid, sid, qid, q, hgetall(k(KEY.session, sid))) end

local message_op = nil
if text ~= '' then
  local name = Cards.customer_of({customer = customer}).name
  local message = {type = 'message', from = {role = 'customer', display_name = name}, text = text}
  local index = nil
  if cmid ~= '' then
    message.client_msg_id = cmid
    index = 'customer:' .. vid .. ':' .. cmid
  end
  message_op = Conversations.append(cid, message, {'v:' .. vid, unpack(bot_recipients)}, 'all', index)
end

if hold_until then Conversations.system_message(cid, closed_message, {'v:' .. vid}) end
if invite then
  redis.call('HSET', k(KEY.invite, invite_id), 'state', 'accepted', 'answered_at', NOW, 'conversation', cid)
  lifecycle({type = 'invite.accepted', invite_id = invite_id, visitor = vid, queue = qid,
    conversation_id = cid, session_id = sid, rule = invite.rule, agent = invite.agent})
end
if in_bot_stage then
  lifecycle({type = 'session.bot_started', conversation_id = cid, session_id = sid, queue = qid,
    channel = channel, language = language})
else
  lifecycle({type = 'session.queued', conversation_id = cid, session_id = sid, queue = qid,
    channel = channel, language = language, held_until = hold_until})
  Routing.announce_queued(sid, {queue = qid, visitor = vid, conv = cid})
  redis.call('HSET', k(KEY.session, sid), 'entry_pos', redis.call('HGET', k(KEY.session, sid), 'pos'))
  Routing.route_all()
end

local result = {conversation_id = cid, session_id = sid, opens_at = hold_until}
-- the Router fills in message_id and seq once the message has them
if message_op then result._message_op = message_op end
return Conversations.done(result)
