-- webhook_finish: settles one attempt at a lane's head delivery.
-- A success counts whenever the delivery is still the head of its lane (a node
-- that took it over after this one's lease ran out then finds its own result
-- stale); a failure counts only while the caller still holds the lease.
-- ARGV[1] lane member   ARGV[2] delivery id   ARGV[3] lease end (ms)   ARGV[4] now (ms)
-- ARGV[5] outcome: "ok", "retry" or "dead"   ARGV[6] HTTP status ("" without an answer)
-- ARGV[7] error ("" on success)   ARGV[8] attempts made, this one included
-- ARGV[9] next attempt (ms; for "retry")   ARGV[10] dead letters kept per webhook
-- Returns "delivered", "retry", "dead" or "stale". Every attempt that counts is also kept
-- in the webhook's recent deliveries (the newest RECENT_KEPT), for the admin console.
local member, did, now, outcome = ARGV[1], ARGV[2], tonumber(ARGV[4]), ARGV[5]
local wid, n = split_member(member)
local lane = lane_key(wid, n)
if redis.call('LINDEX', lane, 0) ~= did then return 'stale' end
local stats = k(KEY.webhook, wid)
local status = ARGV[6]
local RECENT_KEPT = 20

-- One attempt in the recent deliveries: when, how it went, the event's type (no payload).
local function record(result)
  local ok, event = pcall(cjson.decode, redis.call('HGET', k(KEY.webhook, wid, 'jobs'), did) or '{}')
  local entry = {delivery_id = did, at = now, outcome = result, attempt = tonumber(ARGV[8])}
  if ok and type(event) == 'table' and type(event.type) == 'string' then entry.event = event.type end
  if status ~= '' then entry.status = tonumber(status) end
  if ARGV[7] ~= '' then entry.error = ARGV[7] end
  local recent = k(KEY.webhook, wid, 'recent')
  redis.call('LPUSH', recent, cjson.encode(entry))
  redis.call('LTRIM', recent, 0, RECENT_KEPT - 1)
end

if outcome == 'ok' then
  record('delivered')
  redis.call('LPOP', lane)
  redis.call('HDEL', k(KEY.webhook, wid, 'jobs'), did)
  redis.call('HDEL', k(KEY.webhook, wid, 'tries'), did)
  redis.call('HINCRBY', stats, 'delivered', 1)
  redis.call('HSET', stats, 'last_delivered_at', now, 'last_status', status)
  next_in_lane(wid, n, now)
  return 'delivered'
end
if tonumber(redis.call('ZSCORE', DUE, member)) ~= tonumber(ARGV[3]) then return 'stale' end

record(outcome == 'dead' and 'dead' or 'retry')
redis.call('HINCRBY', stats, 'failed', 1)
redis.call('HSET', stats, 'last_error', ARGV[7], 'last_error_at', now, 'last_status', status)
local info = {attempts = tonumber(ARGV[8]), last_error = ARGV[7], at = now}
if status ~= '' then info.last_status = tonumber(status) end
if outcome == 'dead' then
  local dead = k(KEY.webhook, wid, 'dead')
  info.lane = tonumber(n)
  redis.call('LPOP', lane)
  redis.call('HDEL', k(KEY.webhook, wid, 'tries'), did)
  redis.call('LPUSH', dead, did)
  redis.call('HSET', k(KEY.webhook, wid, 'deadinfo'), did, cjson.encode(info))
  redis.call('HINCRBY', stats, 'dead_lettered', 1)
  while redis.call('LLEN', dead) > tonumber(ARGV[10]) do
    local oldest = redis.call('RPOP', dead)
    redis.call('HDEL', k(KEY.webhook, wid, 'deadinfo'), oldest)
    redis.call('HDEL', k(KEY.webhook, wid, 'jobs'), oldest)
  end
  next_in_lane(wid, n, now)
  return 'dead'
end
redis.call('HSET', k(KEY.webhook, wid, 'tries'), did, cjson.encode(info))
redis.call('ZADD', DUE, ARGV[9], member)
return 'retry'
