-- csat: the customer rates the last ended session of its conversation in which
-- an agent served it. One answer per session.
-- ARGV[5] visitor id   ARGV[6] rating (1-5)   ARGV[7] comment ("" none)
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/conversations"
local vid, rating, comment = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local cid = redis.call('HGET', k(KEY.visitor, vid), 'conv')
if not cid then return refuse('conflict', 'no survey is open for this visitor') end
local sessions = redis.call('LRANGE', cv_sessions(cid), 0, -1)
local sid = nil
for i = #sessions, 1, -1 do
  local s = redis.call('HMGET', k(KEY.session, sessions[i]), 'ended_at', 'connected_at')
  if s[1] and s[1] ~= '' then
    if s[2] and s[2] ~= '' then sid = sessions[i] end
    break
  end
end
if not sid then return refuse('conflict', 'no survey is open for this visitor') end
local s = hgetall(k(KEY.session, sid))
if s.csat_rating then return refuse('conflict', 'this session was already rated') end
redis.call('HSET', k(KEY.session, sid), 'csat_rating', rating, 'csat_comment', comment, 'csat_at', NOW)
local event = {type = 'csat.submitted', conversation_id = cid, session_id = sid, queue = s.queue,
  rating = rating}
if (s.owner or '') ~= '' then event.agent = s.owner end -- who had the chat when it ended
if comment ~= '' then event.comment = comment end
lifecycle(event)
return Conversations.done({conversation_id = cid, session_id = sid, rating = rating})
