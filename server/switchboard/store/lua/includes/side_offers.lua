-- Routing prelude: transfers and conferences: side offers, their checks, guests leaving.
-- Provides: `SideOffers.*`: FAILURE_EVENT, side_offer_failed, drop_side_offer, unfit_target, refuse_target, offer_side, remove_from_session, guest_left.
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
--- @include "includes/routing"

local SideOffers = {}

-- ------------------------------------------------------------------ transfers and conferences

-- A "side offer" is an offer of a session that stays with its agent meanwhile:
-- a transfer to a named agent, or a conference. A session has at most one; the
-- session hash keeps its id in `side_offer`, the offer hash names its sender.

local FAILURE_EVENT = {transfer = 'transfer.failed', conference = 'conference.failed'}

-- Removes the pending side offer of `sid`, if any. The target is told with
-- `revoked` (an offer.revoked reason, or nil when the target itself ended it);
-- the sender is told with `failed` (a transfer.failed / conference.failed reason,
-- or nil when the sender caused it and knows).
-- The side offer `o` (already removed) came to nothing: the session forgets it
-- and, with a reason, its sender is told.
function SideOffers.side_offer_failed(oid, o, failed)
  if redis.call('HGET', k(KEY.session, o.session), 'side_offer') == oid then
    redis.call('HSET', k(KEY.session, o.session), 'side_offer', '')
  end
  if failed then
    deliver({'a:' .. o.sender}, {type = FAILURE_EVENT[o.kind], conversation_id = o.conv,
      session_id = o.session, agent = Agents.agent_public(o.agent), reason = failed})
  end
end

function SideOffers.drop_side_offer(sid, revoked, failed)
  local oid = redis.call('HGET', k(KEY.session, sid), 'side_offer')
  if not oid or oid == '' then return nil end
  local o = Routing.remove_offer(oid)
  redis.call('HSET', k(KEY.session, sid), 'side_offer', '')
  if not o then return nil end
  SideOffers.side_offer_failed(oid, o, failed)
  if revoked then deliver({'a:' .. o.agent}, {type = 'offer.revoked', offer_id = oid, reason = revoked}) end
  Agents.reindex_agent(o.agent)
  return o
end

-- Checks that `target` can be offered a transfer or conference of session `s`
-- now; returns nil, or the refusal.
-- Why agent `aid` (in `state`, with `capacity`) cannot be handed a transfer or
-- conference now, or nil when it can: available, a socket open, a free slot.
-- The desk's picker (view_transfer_targets.lua) shows the same test as `free`.
function SideOffers.unfit_target(aid, state, capacity)
  if state ~= 'available' or redis.call('SCARD', k(KEY.agent, aid, 'conns')) == 0 then
    return 'is not available (' .. tostring(state) .. ')'
  end
  if Agents.agent_load(aid) >= (tonumber(capacity) or 0) then return 'has no free slot' end
  return nil
end

function SideOffers.refuse_target(s, sender, target)
  local a = redis.call('HMGET', k(KEY.agent, target), 'queues', 'state', 'capacity')
  if not a[1] then return refuse('not_found', 'no such agent: ' .. target) end
  if target == sender then return refuse('bad_request', 'you cannot send a conversation to yourself') end
  if has_word(s.agents, target) then return refuse('conflict', target .. ' is already in this conversation') end
  if (s.side_offer or '') ~= '' then
    return refuse('conflict', 'a transfer or conference offer for this conversation is already pending')
  end
  local unfit = SideOffers.unfit_target(target, a[2], a[3])
  if unfit then return refuse('conflict', target .. ' ' .. unfit) end
  return nil
end

-- Offers session `sid` to `target` as a transfer or conference from `sender`.
function SideOffers.offer_side(sid, s, kind, sender, target)
  local q = Queues.queue_config(s.queue) or {offer_timeout_s = 20}
  local oid = Routing.unguessable_id('o', 'offer')
  local expires_at = NOW + math.floor(q.offer_timeout_s * 1000)
  local frame = Cards.offer_frame(oid, sid, s, kind, expires_at, sender)
  redis.call('HSET', k(KEY.offer, oid), 'session', sid, 'agent', target, 'kind', kind, 'sender', sender,
    'conv', s.conv, 'offered_at', NOW, 'expires_at', expires_at, 'frame', cjson.encode(frame))
  redis.call('SADD', k(KEY.agent, target, 'offers'), oid)
  redis.call('HSET', k(KEY.session, sid), 'side_offer', oid)
  Deadline.arm('offer:' .. oid, expires_at)
  deliver({'a:' .. target}, frame)
  lifecycle({type = 'session.offered', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = target, offer_id = oid, kind = kind, from_agent = sender})
  Agents.reindex_agent(target)
  return {offer_id = oid, expires_at = expires_at}
end

-- Takes `aid` out of the connected agents of session `sid` and frees its slot.
-- Returns the agents left.
function SideOffers.remove_from_session(sid, aid)
  local s = redis.call('HMGET', k(KEY.session, sid), 'agents', 'conv', 'owner')
  local rest = {}
  for _, a in ipairs(words(s[1])) do if a ~= aid then rest[#rest + 1] = a end end
  local agents = table.concat(rest, ' ')
  redis.call('HSET', k(KEY.session, sid), 'agents', agents)
  if s[3] == aid then redis.call('HSET', k(KEY.session, sid), 'owner', rest[1] or '') end
  if #rest == 1 then redis.call('HSET', k(KEY.session, sid), 'status', 'active') end
  Conversations.update_conversation(s[2], {agents = agents})
  redis.call('SREM', k(KEY.agent, aid, 'slots'), sid)
  Agents.reindex_agent(aid)
  return rest
end

-- A conference guest leaves (or is removed, or disconnected): everyone is told.
function SideOffers.guest_left(sid, aid, why)
  local s = redis.call('HMGET', k(KEY.session, sid), 'conv', 'queue')
  local to = Conversations.audience(s[1], true)
  local rest = SideOffers.remove_from_session(sid, aid)
  Conversations.append(s[1], {type = 'chat.participant_left', session_id = sid, agent = Agents.agent_public(aid)}, to)
  Conversations.system_message(s[1], Agents.agent_public(aid).display_name .. ' left the conversation', to)
  local others = {}
  for _, a in ipairs(rest) do others[#others + 1] = 'a:' .. a end
  deliver(others, {type = 'conference.ended', conversation_id = s[1], session_id = sid, agent = Agents.agent_public(aid)})
  lifecycle({type = 'session.conference_ended', conversation_id = s[1], session_id = sid,
    queue = s[2], agent = aid, reason = why})
  return rest
end
