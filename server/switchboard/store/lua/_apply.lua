-- Applying conversation ops (see `conversation_op` in includes/conversations.lua) to a
-- conversation's message side. Shared by conversation_apply.lua (Redis
-- Cluster: the second step, on the conversation's own shard) and by the
-- routing steps themselves on one Redis, where the message side is at hand.

-- Applies `ops` (tables, in op order) to the message side (`conv` hash, `log`
-- history stream, `cmids` client_msg_id index) of conversation `cid`. Ops at
-- or below the conversation's `applied` are skipped, so applying ops twice, or
-- two nodes racing on them, changes nothing. Returns the last op applied and,
-- by op number, each appended frame (with its seq), its JSON and recipients.
local function apply_ops(conv, log, cmids, cid, ops)
  local applied = tonumber(redis.call('HGET', conv, 'applied') or 0)
  local frames = {}
  redis.call('HSETNX', conv, 'seq', 0)
  for _, op in ipairs(ops) do
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
        frames[op.n] = {to = op.to, frame = frame, payload = payload}
      end
      applied = op.n
    end
  end
  redis.call('HSET', conv, 'applied', applied)
  return applied, frames
end
