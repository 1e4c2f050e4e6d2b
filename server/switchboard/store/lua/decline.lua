-- decline: the agent turns the offer down. A session from its queue goes back
-- to its place and on to the next eligible agent, never again to this one; a
-- transfer or conference stays with its sender, who gets transfer.failed or
-- conference.failed.
-- ARGV[5] agent id   ARGV[6] offer id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/side_offers"
local aid, oid = ARGV[5], ARGV[6]
local o = hgetall(k(KEY.offer, oid))
if not o or o.agent ~= aid then return refuse('not_found', 'no such offer (it may have expired)') end
Routing.remove_offer(oid)
local s = hgetall(k(KEY.session, o.session))
if o.sender then
  SideOffers.side_offer_failed(oid, o, 'declined')
else
  redis.call('SADD', k(KEY.session, o.session, 'declined'), aid)
  Routing.requeue(o.session)
end
lifecycle({type = 'session.declined', conversation_id = s.conv, session_id = o.session,
  queue = s.queue, agent = aid, offer_id = oid, kind = o.kind})
Agents.reindex_agent(aid)
Routing.route_all()
return Conversations.done({conversation_id = s.conv, session_id = o.session})
