-- offer_timeout: an offer rang out. The agent goes to RONA until it sets its
-- state. A session from its queue goes back to its place and on to the next
-- agent; a transfer or conference stays with its sender, who is told.
-- ARGV[5] offer id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/side_offers"
local oid = ARGV[5]
if not Deadline.take_due('offer:' .. oid) then return Conversations.done(false) end
local o = Routing.remove_offer(oid)
if not o then return Conversations.done(false) end
local s = hgetall(k(KEY.session, o.session))
deliver({'a:' .. o.agent}, {type = 'offer.revoked', offer_id = oid, reason = 'timeout'})
local event = {type = 'session.rona', conversation_id = o.conv or (s and s.conv), session_id = o.session,
  queue = s and s.queue, agent = o.agent, offer_id = oid, kind = o.kind}
if o.sender then
  SideOffers.side_offer_failed(oid, o, 'timeout')
  lifecycle(event)
elseif s and s.status == 'offered' and s.offer == oid then
  Routing.requeue(o.session)
  lifecycle(event)
end
Agents.set_agent_state(o.agent, 'rona', 'Offer not answered')
Agents.reindex_agent(o.agent)
Routing.route_all()
return Conversations.done(true)
