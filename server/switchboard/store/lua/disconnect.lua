-- disconnect: a socket closed. When it was the last one of its agent or
-- visitor, the disconnect grace starts; an agent's pending offers are revoked
-- at once (nobody is there to answer them) and it gets no new ones meanwhile.
-- ARGV[5] kind: "a" or "v"   ARGV[6] agent or visitor id   ARGV[7] connection id
local kind, id, conn = ARGV[5], ARGV[6], ARGV[7]
local conns = k(kind, id, 'conns')
if redis.call('SREM', conns, conn) == 0 or redis.call('SCARD', conns) > 0 then return done(false) end
arm('grace:' .. kind .. ':' .. id, NOW + GRACE_MS)
if kind == 'a' then
  for _, oid in ipairs(redis.call('SMEMBERS', k('a', id, 'offers'))) do
    local o = remove_offer(oid)
    local s = hgetall(k('s', o.session))
    if s and s.status == 'offered' and s.offer == oid then requeue(o.session) end
    deliver({'a:' .. id}, {type = 'offer.revoked', offer_id = oid, reason = 'agent_disconnected'})
  end
  reindex_agent(id)
  route_all()
end
return done(true)
