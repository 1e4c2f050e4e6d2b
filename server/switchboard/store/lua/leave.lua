-- leave / end_conference: a conference guest leaves, or the owner removes
-- every guest. The session goes on with the owner.
-- A supervisor who barged in leaves the same way (see includes/step_in).
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] "leave" or "end_conference"
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/routing"
--- @include "includes/side_offers"
--- @include "includes/step_in"
local aid, cid, mode = ARGV[5], ARGV[6], ARGV[7]
local sid = redis.call('HGET', cv(cid), 'session')
if not sid then return refuse('not_found', 'no such conversation') end
local s = hgetall(k(KEY.session, sid))
if mode == 'leave' and not has_word(s.agents, aid) and StepIn.barged(cid, aid) then
  StepIn.leave(aid, cid, 'left')
  return Conversations.done({conversation_id = cid, session_id = sid})
end
if not has_word(s.agents, aid) then return refuse('forbidden', 'you are not connected to this conversation') end
local guests = {}
for _, a in ipairs(words(s.agents)) do if a ~= s.owner then guests[#guests + 1] = a end end

if mode == 'leave' then
  if aid == s.owner then
    return refuse('conflict', 'the owner does not leave: end the conference, transfer or end the session')
  end
  SideOffers.guest_left(sid, aid, 'left')
else
  if aid ~= s.owner then return refuse('forbidden', 'only the owner of the conversation can end the conference') end
  if #guests == 0 then return refuse('conflict', 'there is no conference to end') end
  for _, guest in ipairs(guests) do SideOffers.guest_left(sid, guest, 'removed') end
end
Routing.route_all()
return Conversations.done({conversation_id = cid, session_id = sid})
