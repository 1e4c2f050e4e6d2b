-- handoff: a session in the bot stage goes to its queue (or another one) for an agent,
-- with what the bot learnt: `summary` and `attributes` (merged over the session's). Its
-- wait starts now, as a new chat's would.
-- ARGV[5] conversation id   ARGV[6] queue id ("" the session's own)
-- ARGV[7] summary ("" none)  ARGV[8] attributes to merge (JSON object)
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/bots"
local cid, qid, summary, added = ARGV[5], ARGV[6], ARGV[7], cjson.decode(ARGV[8])
local c = redis.call('HMGET', cv(cid), 'visitor', 'open', 'session')
if not c[1] then return refuse('not_found', 'no such conversation') end
if c[2] ~= '1' then return refuse('conflict', 'the session has ended') end
local sid = c[3]
local s = hgetall(k(KEY.session, sid))
if s.status ~= 'bot' then return refuse('conflict', 'the session is not in the bot stage') end
if qid == '' then qid = s.queue end
local q = Queues.queue_config(qid)
if not q then return refuse('not_found', 'no such queue') end
if not Queues.serves_language(q, s.language) then
  return refuse('bad_request', 'the queue does not serve language ' .. s.language)
end

local attributes = Cards.attributes_of(s)
for name, value in pairs(added) do attributes[name] = value end
local priority = tonumber(q.priority or 0) + (tonumber(s.chat_priority) or 0)
local score = Queues.entry_score(q, priority, NOW)
redis.call('HSET', k(KEY.session, sid), 'queue', qid, 'priority', priority, 'score', score,
  'queued_at', NOW, 'entered_at', NOW, 'attributes', cjson.encode(attributes),
  'summary', summary ~= '' and summary or (s.summary or ''), 'handed_off_at', NOW)
Bots.leave(cid, sid, 'handed_off')
Queues.enqueue(sid, qid, score, NOW)
Queues.arm_waiting_deadlines(sid, qid, q, NOW, true)
lifecycle({type = 'session.handed_off', conversation_id = cid, session_id = sid, queue = qid,
  bot_ms = NOW - tonumber(s.queued_at)})
lifecycle({type = 'session.queued', conversation_id = cid, session_id = sid, queue = qid,
  channel = s.channel, language = s.language})
Routing.announce_queued(sid, {queue = qid, visitor = c[1], conv = cid})
redis.call('HSET', k(KEY.session, sid), 'entry_pos', redis.call('HGET', k(KEY.session, sid), 'pos'))
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid, queue = qid})
