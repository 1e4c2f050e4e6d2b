-- webhook_release: a stopping node hands back the lanes it still holds, so that
-- another node sends their heads at once instead of when the leases run out.
-- ARGV[1] now (ms)   ARGV[2..] pairs: lane member, lease end (ms)
-- Returns how many lanes were released (a lease already taken over is left alone).
local now, released = tonumber(ARGV[1]), 0
for i = 2, #ARGV, 2 do
  if tonumber(redis.call('ZSCORE', DUE, ARGV[i])) == tonumber(ARGV[i + 1]) then
    redis.call('ZADD', DUE, now, ARGV[i])
    released = released + 1
  end
end
return released
