-- archive_trim: finished conversations past the live window leave Redis, each
-- only when it still qualifies here, in this step: its last session closed at
-- least `window` ago, none is open or in wrap-up, no ops wait in its outbox, no
-- change waits for the archive, and (one Redis) PostgreSQL confirmed its history
-- up to its last seq. What stays:
-- the entries of agents' and visitors' lists of conversations (a few bytes each;
-- reads find the conversation in PostgreSQL).
-- On Cluster the message side lives on another shard: the caller checked its
-- archived_seq before, and removes it after (archive_forget), since nothing can
-- write to a closed conversation's message side but a routing step.
-- ARGV[5] the live window, ms
-- ARGV[6] "1": only what PostgreSQL has all of; "0": whatever it has (retention deletes it everywhere)
-- ARGV[7..] conversation ids
-- Returns the ids removed.
--- @include "includes/call"
local window, require_archived = tonumber(ARGV[5]), ARGV[6] == '1'
local finished = k('archive', 'finished')
local removed = {}
for i = 7, #ARGV do
  local cid = ARGV[i]
  local at = tonumber(redis.call('ZSCORE', finished, cid))
  local record = redis.call('HMGET', cv(cid), 'open', 'visitor')
  -- a change PostgreSQL has not got yet (a CSAT answer during an outage, say) keeps it here
  local qualifies = at and at <= NOW - window and record[1] ~= '1' and redis.call('EXISTS', k('outbox', cid)) == 0
    and (not require_archived or (not redis.call('ZSCORE', k('archive', 'dirty'), cid)
      and not redis.call('ZSCORE', k('archive', 'dirty', 'claims'), cid)
      and redis.call('SISMEMBER', k('archive', 'routing'), cid) == 0))
  local sessions = redis.call('LRANGE', cv_sessions(cid), 0, -1)
  if qualifies then
    for _, sid in ipairs(sessions) do
      local status = redis.call('HGET', k(KEY.session, sid), 'status')
      if status and status ~= 'closed' then qualifies = false end
    end
  end
  local message_side = P .. ':c:{' .. cid .. '}'
  if qualifies and APPLY_HERE and require_archived then
    local c = redis.call('HMGET', message_side, 'seq', 'archived_seq')
    if tonumber(c[2] or -1) < tonumber(c[1] or 0) then qualifies = false end
  end
  -- reopened: it comes back when its new session closes
  if qualifies or record[1] == '1' then redis.call('ZREM', finished, cid) end
  if qualifies then
    for _, sid in ipairs(sessions) do redis.call('DEL', k(KEY.session, sid)) end
    redis.call('DEL', cv(cid), cv_sessions(cid))
    redis.call('ZREM', DEADLINES, 'outbox:' .. cid)
    if APPLY_HERE then redis.call('DEL', message_side, message_side .. ':log', message_side .. ':cmid') end
    redis.call('ZREM', k('archive', 'dirty'), cid)
    redis.call('SREM', k('archive', 'routing'), cid)
    removed[#removed + 1] = cid
  end
end
return cjson.encode({ok = removed})
