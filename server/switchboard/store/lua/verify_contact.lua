-- verify_contact: a connected agent confirms who the customer is (the widget's
-- own claims never do). The given email or phone replace the claimed ones.
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] email ("" none)   ARGV[8] phone ("" none)
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/cards"
local aid, cid, email, phone = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local sid = redis.call('HGET', cv(cid), 'session')
if not sid then return refuse('not_found', 'no such conversation') end
local s = hgetall(k(KEY.session, sid))
if not has_word(s.agents, aid) then return refuse('forbidden', 'you are not connected to this conversation') end
local customer = Cards.customer_of(s)
if email ~= '' then customer.email = email end
if phone ~= '' then customer.phone = phone end
redis.call('HSET', k(KEY.session, sid), 'customer', cjson.encode(customer), 'verified', '1',
  'verified_by', aid, 'verified_at', NOW)
local view = Cards.session_view(sid)
deliver(Conversations.audience(cid, false), {type = 'card', conversation_id = cid, _card = view})
return Conversations.done({conversation_id = cid, session = view})
