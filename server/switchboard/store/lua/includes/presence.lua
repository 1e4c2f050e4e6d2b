-- Routing prelude: presence: sockets of agents and visitors by node.
-- Provides: `Presence.*`: node_of, add_connection, drop_connection.
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/side_offers"

local Presence = {}

-- ------------------------------------------------------------------ presence

-- Every socket is registered under its node ("<node>:<n>" is its connection
-- id), so the sockets of a node that died can be dropped by another node.
function Presence.node_of(conn) return string.match(conn, '^([^:]+):') or conn end

function Presence.add_connection(kind, id, conn)
  redis.call('SADD', k(kind, id, 'conns'), conn)
  redis.call('SADD', k('node', Presence.node_of(conn), 'conns'), kind .. ' ' .. id .. ' ' .. conn)
end

-- Removes one socket. When it was the last one of its agent or visitor, the
-- disconnect grace starts; an agent's pending offers are revoked at once
-- (nobody is there to answer them) and it gets no new ones meanwhile.
function Presence.drop_connection(kind, id, conn)
  local conns = k(kind, id, 'conns')
  redis.call('SREM', k('node', Presence.node_of(conn), 'conns'), kind .. ' ' .. id .. ' ' .. conn)
  if redis.call('SREM', conns, conn) == 0 or redis.call('SCARD', conns) > 0 then return false end
  if kind == 'v' then redis.call('ZREM', k('visitors', 'online'), id) end
  Deadline.arm('grace:' .. kind .. ':' .. id, NOW + GRACE_MS)
  if kind == 'a' then
    for _, oid in ipairs(redis.call('SMEMBERS', k(KEY.agent, id, 'offers'))) do
      local o = Routing.remove_offer(oid)
      if not o then
        -- already gone: nothing to put back
      elseif o.sender then
        SideOffers.side_offer_failed(oid, o, 'agent_disconnected')
      else
        local s = hgetall(k(KEY.session, o.session))
        if s and s.status == 'offered' and s.offer == oid then Routing.requeue(o.session) end
      end
      deliver({'a:' .. id}, {type = 'offer.revoked', offer_id = oid, reason = 'agent_disconnected'})
    end
    Agents.reindex_agent(id)
  end
  return true
end
