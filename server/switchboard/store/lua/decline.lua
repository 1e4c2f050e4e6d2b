-- decline: the agent turns the offer down; the session goes back to its place
-- and on to the next eligible agent, never again to this one.
-- ARGV[5] agent id   ARGV[6] offer id
local aid, oid = ARGV[5], ARGV[6]
local o = hgetall(k('offer', oid))
if not o or o.agent ~= aid then return refuse('not_found', 'no such offer (it may have expired)') end
remove_offer(oid)
local s = hgetall(k('s', o.session))
redis.call('SADD', k('s', o.session, 'declined'), aid)
requeue(o.session)
lifecycle({type = 'session.declined', conversation_id = s.conv, session_id = o.session,
  queue = s.queue, agent = aid, offer_id = oid})
reindex_agent(aid)
route_all()
return done({conversation_id = s.conv, session_id = o.session})
