-- accept: the agent takes the session it was offered.
-- ARGV[5] agent id   ARGV[6] offer id
local aid, oid = ARGV[5], ARGV[6]
local o = hgetall(k('offer', oid))
if not o or o.agent ~= aid then return refuse('not_found', 'no such offer (it may have expired)') end
local status = redis.call('HGET', k('s', o.session), 'status')
if status ~= 'offered' then return refuse('conflict', 'the session is no longer on offer') end
remove_offer(oid)
connect_agent(o.session, aid)
route_all()
return done({conversation_id = redis.call('HGET', k('s', o.session), 'conv'), session_id = o.session})
