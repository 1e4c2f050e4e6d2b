-- conversation_apply: applies the pending ops a routing step wrote to a
-- conversation's outbox (see `conversation_op` in _lib.lua) to its message side.
-- Ops at or below the conversation's `applied` are skipped, so applying an
-- outbox again, or two nodes racing on it, changes nothing.
-- KEYS[1] conversation hash   KEYS[2] its history stream   KEYS[3] its client_msg_id index
-- ARGV[1] conversation id     ARGV[2..] the ops (JSON), in op order
-- Returns {applied = the last op number applied, frames = {{n, to, frame}}}: each
-- appended frame (JSON, with its seq) and its recipients; the caller delivers
-- the frames it applied (and only those).
local conv, log, cmids, cid = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local applied = tonumber(redis.call('HGET', conv, 'applied') or 0)
local frames = {}
redis.call('HSETNX', conv, 'seq', 0)
for i = 2, #ARGV do
  local op = cjson.decode(ARGV[i])
  if op.n > applied then
    if op.set then
      for field, value in pairs(op.set) do redis.call('HSET', conv, field, value) end
    end
    if op.touch then redis.call('HSET', conv, 'last_activity', op.at) end
    if op.append then
      local frame = op.append
      local seq = redis.call('HINCRBY', conv, 'seq', 1)
      frame.conversation_id = cid
      frame.seq = seq
      frame.ts = frame.ts or op.at
      if frame.type == 'message' and not frame.message_id then frame.message_id = cid .. ':' .. seq end
      local payload = cjson.encode(frame)
      redis.call('XADD', log, seq .. '-0', 'd', payload, 'v', op.v or 'all')
      if op.cmid then redis.call('HSET', cmids, op.cmid, seq) end
      frames[#frames + 1] = {n = op.n, to = op.to, frame = payload}
    end
    applied = op.n
  end
end
redis.call('HSET', conv, 'applied', applied)
return cjson.encode({applied = applied, frames = frames})
