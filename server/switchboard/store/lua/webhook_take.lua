-- webhook_take: leases the head delivery of each due lane, up to a limit, for
-- the calling node to send. A leased lane stays in the due set with the lease's
-- end as its score: when the node dies, the lane falls due again then and
-- another node sends the same delivery (at least once).
-- ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] most lanes to take
-- Returns {{lane member, delivery id, lease end, webhook (JSON), body, tries (JSON or "")}, ...}.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local wid, n = split_member(member)
  local hook = wid and redis.call('HGET', HOOKS, wid)
  local did = hook and redis.call('LINDEX', lane_key(wid, n), 0)
  local body = did and redis.call('HGET', k(KEY.webhook, wid, 'jobs'), did)
  if not did then
    redis.call('ZREM', DUE, member)
  elseif not body then -- never expected; must not block the lane
    redis.call('LPOP', lane_key(wid, n))
    next_in_lane(wid, n, now)
  else
    local ends = string.format('%d', now + lease)
    redis.call('ZADD', DUE, ends, member)
    out[#out + 1] = {member, did, ends, hook, body, redis.call('HGET', k(KEY.webhook, wid, 'tries'), did) or ''}
  end
end
return out
