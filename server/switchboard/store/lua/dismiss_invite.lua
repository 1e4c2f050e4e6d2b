-- dismiss_invite: the visitor turns a proactive invitation down.
-- ARGV[5] visitor id   ARGV[6] invite id
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/conversations"
--- @include "includes/cards"
local vid, iid = ARGV[5], ARGV[6]
local invite = Cards.pending_invite(vid, iid)
if not invite then return refuse('not_found', 'no such invitation') end
redis.call('HSET', k(KEY.invite, iid), 'state', 'dismissed', 'answered_at', NOW)
lifecycle({type = 'invite.dismissed', invite_id = iid, visitor = vid, queue = invite.queue,
  rule = invite.rule, agent = invite.agent})
return Conversations.done({invite_id = iid, state = 'dismissed'})
