-- barge_in: a supervisor joins a live conversation of one of its queues as a
-- participant: the customer sees it join and its messages (see StepIn.join).
-- It leaves with `leave` (leave.lua), by unmonitoring, or when the session ends.
-- ARGV[5] supervisor id   ARGV[6] conversation id
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/step_in"
local aid, cid = ARGV[5], ARGV[6]
local refusal, sid, s = StepIn.check(aid, cid)
if refusal then return refusal end
if has_word(s.agents, aid) or StepIn.barged(cid, aid) then
  return refuse('conflict', 'you are already in this conversation')
end
StepIn.join(aid, cid, sid, s)
return Conversations.done({conversation_id = cid, session_id = sid, monitoring = true})
