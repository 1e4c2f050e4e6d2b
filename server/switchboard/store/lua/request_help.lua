-- request_help: an agent in a conversation asks for a supervisor. The
-- connected supervisors of the session's queue are asked, and the request stays
-- on the session's card for those who connect later; supervisors of other
-- queues never see the conversation (they only count for "someone is online").
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] text ("" none)
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
local aid, cid, text = ARGV[5], ARGV[6], ARGV[7]
local sid = redis.call('HGET', cv(cid), 'session')
if not sid then return refuse('not_found', 'no such conversation') end
local s = redis.call('HMGET', k(KEY.session, sid), 'agents', 'queue', 'wrapping')
if not has_word(s[1], aid) and not has_word(s[3], aid) then
  return refuse('forbidden', 'you are not in this conversation')
end
local to, online = {}, 0
for _, sup in ipairs(redis.call('SMEMBERS', k('supervisors'))) do
  if sup ~= aid and redis.call('SCARD', k(KEY.agent, sup, 'conns')) > 0 then
    online = online + 1
    if redis.call('SISMEMBER', k(KEY.queue_state, s[2], 'members'), sup) == 1 then to[#to + 1] = 'a:' .. sup end
  end
end
if online == 0 then return refuse('conflict', 'no supervisor is online') end
-- Kept on the session until a supervisor monitors it or the session ends, so a
-- supervisor who opens the view later still sees it (on the card, as `help`).
local help = {agent = aid, at = NOW}
if text ~= '' then help.text = text end
redis.call('HSET', k(KEY.session, sid), 'help', cjson.encode(help))
local frame = {type = 'help.requested', conversation_id = cid, session_id = sid, agent = Agents.agent_public(aid),
  _card = Cards.session_view(sid)}
if text ~= '' then frame.text = text end
deliver(to, frame)
return Conversations.done({conversation_id = cid, supervisors = #to})
