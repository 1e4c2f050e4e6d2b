-- webhook_replay: puts dead letters back at the end of their lanes, attempts
-- reset, oldest event first.
-- ARGV[1] webhook id   ARGV[2] now (ms)   ARGV[3..] delivery ids (none: every dead letter)
-- Returns how many were queued again (ids that are not dead letters are skipped),
-- or -1 when there is no such webhook.
local wid, now = ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', HOOKS, wid) == 0 then return -1 end
local dead, infos = k(KEY.webhook, wid, 'dead'), k(KEY.webhook, wid, 'deadinfo')
local ids = {}
if #ARGV > 2 then
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('LRANGE', dead, 0, -1)
end
local found = {}
for _, did in ipairs(ids) do
  local info = redis.call('HGET', infos, did)
  if info then
    found[#found + 1] = {did = did, lane = cjson.decode(info).lane, eid = string.match(did, '^(%d+%-%d+)%.')}
  end
end
table.sort(found, function(a, b) return newer(b.eid, a.eid) end)
local count = 0
for _, f in ipairs(found) do
  if redis.call('HDEL', infos, f.did) == 1 then
    if #ARGV > 2 then redis.call('LREM', dead, 1, f.did) end
    if redis.call('RPUSH', lane_key(wid, f.lane), f.did) == 1 then
      redis.call('ZADD', DUE, now, lane_member(wid, f.lane))
    end
    count = count + 1
  end
end
if #ARGV == 2 then redis.call('DEL', dead) end
return count
