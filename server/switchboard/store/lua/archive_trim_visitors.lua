-- archive_trim_visitors: visitors idle past the live window leave Redis, each only
-- when, in this step, it still qualifies: no socket open, no grace running, its
-- last sign of life at least `window` ago, PostgreSQL has its latest changes (not
-- waiting for the archive), and none of its conversations is still in Redis. Its
-- web sessions and journey go with it (PostgreSQL keeps them). One that does
-- not qualify yet is looked at again after another window.
-- ARGV[5] the live window, ms   ARGV[6] how many at most
-- Returns the ids removed.
--- @include "includes/call"
local window, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local idle = k('archive', 'idle_visitors')
local removed = {}
for _, vid in ipairs(redis.call('ZRANGEBYSCORE', idle, '-inf', NOW - window, 'LIMIT', 0, limit)) do
  local visitor = k(KEY.visitor, vid)
  local qualifies = redis.call('SCARD', k('v', vid, 'conns')) == 0
    and not redis.call('ZSCORE', DEADLINES, 'grace:v:' .. vid)
    and not redis.call('ZSCORE', k('archive', 'visitors'), vid)
    and not redis.call('ZSCORE', k('archive', 'visitors', 'claims'), vid)
    and tonumber(redis.call('HGET', visitor, 'last_seen_at') or 0) <= NOW - window
  if qualifies then
    local convs = redis.call('LRANGE', k(KEY.visitor, vid, 'convs'), 0, -1)
    convs[#convs + 1] = redis.call('HGET', visitor, 'conv')
    for _, cid in ipairs(convs) do
      if cid and redis.call('EXISTS', cv(cid)) == 1 then qualifies = false end
    end
  end
  if qualifies then
    for _, wid in ipairs(redis.call('ZRANGE', k(KEY.visitor, vid, 'webs'), 0, -1)) do
      redis.call('DEL', k(KEY.web_session, wid))
    end
    for _, rid in ipairs(redis.call('SMEMBERS', k(KEY.visitor, vid, 'invite_timers'))) do
      redis.call('ZREM', DEADLINES, 'invite:' .. vid .. ':' .. rid)
    end
    redis.call('DEL', visitor, k(KEY.visitor, vid, 'convs'), k(KEY.visitor, vid, 'webs'),
      k(KEY.visitor, vid, 'journey'), k(KEY.visitor, vid, 'invite_timers'))
    redis.call('ZREM', k('visitors', 'online'), vid)
    redis.call('ZREM', idle, vid)
    removed[#removed + 1] = vid
  else
    redis.call('ZADD', idle, NOW, vid)
  end
end
return cjson.encode({ok = removed})
