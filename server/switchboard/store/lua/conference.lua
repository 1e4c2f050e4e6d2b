-- conference: the owner of a conversation invites a second agent; on accept
-- both are connected (see accept.lua).
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] invited agent id
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/side_offers"
local aid, cid, target = ARGV[5], ARGV[6], ARGV[7]
local sid = redis.call('HGET', cv(cid), 'session')
if not sid then return refuse('not_found', 'no such conversation') end
local s = hgetall(k(KEY.session, sid))
if not has_word(s.agents, aid) then
  if s.status == 'offered' and redis.call('HGET', k(KEY.offer, s.offer), 'agent') == aid then
    return refuse('conflict', 'accept the offer before you invite anyone')
  end
  return refuse('forbidden', 'you are not connected to this conversation')
end
if s.owner ~= aid then return refuse('forbidden', 'only the owner of the conversation can invite') end
local refusal = SideOffers.refuse_target(s, aid, target)
if refusal then return refusal end
local offer = SideOffers.offer_side(sid, s, 'conference', aid, target)
deliver({'a:' .. aid}, {type = 'conference.requested', conversation_id = cid, session_id = sid,
  agent = Agents.agent_public(target), offer_id = offer.offer_id})
return Conversations.done({conversation_id = cid, session_id = sid, offer_id = offer.offer_id, expires_at = offer.expires_at})
