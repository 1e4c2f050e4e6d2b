-- conversation_apply: applies the pending ops a routing step wrote to a
-- conversation's outbox (see `conversation_op` in includes/conversations.lua) to its message side
-- (`apply_ops` in _apply.lua). Applying an outbox again, or two nodes racing on
-- it, changes nothing.
-- KEYS[1] conversation hash   KEYS[2] its history stream   KEYS[3] its client_msg_id index
-- ARGV[1] conversation id     ARGV[2..] the ops (JSON), in op order
-- Returns {applied = the last op number applied, frames = {{n, to, frame}}}: each
-- appended frame (JSON, with its seq) and its recipients; the caller delivers
-- the frames it applied (and only those).
local cid = ARGV[1]
local ops = {}
for i = 2, #ARGV do ops[#ops + 1] = cjson.decode(ARGV[i]) end
local applied, by_op = apply_ops(KEYS[1], KEYS[2], KEYS[3], cid, ops)
local frames = {}
for _, op in ipairs(ops) do
  local f = by_op[op.n]
  if f then frames[#frames + 1] = {n = op.n, to = f.to, frame = f.payload} end
end
return cjson.encode({applied = applied, frames = frames})
