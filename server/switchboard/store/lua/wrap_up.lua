-- wrap_up: the agent closes its work on an ended session with one or more of
-- the queue's wrap-up codes, which frees its slot, then optionally sets its state.
-- ARGV[5] agent id   ARGV[6] conversation id   ARGV[7] codes (JSON list, at least one)
-- ARGV[8] notes ("" none)   ARGV[9] next state ("" keep)   ARGV[10] its reason ("" none)
--- @include "includes/call"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/routing"
--- @include "includes/lifecycle"
local aid, cid, given, notes = ARGV[5], ARGV[6], cjson.decode(ARGV[7]), ARGV[8]
local next_state, reason = ARGV[9], ARGV[10]
-- The agent may wrap up two sessions of one conversation (the customer wrote
-- again after the first ended): the older one is closed first.
local sid, ended_at = nil, nil
for _, candidate in ipairs(redis.call('SMEMBERS', k(KEY.agent, aid, 'slots'))) do
  local s = redis.call('HMGET', k(KEY.session, candidate), 'conv', 'wrapping', 'ended_at')
  if s[1] == cid and has_word(s[2], aid) and (not sid or tonumber(s[3]) < ended_at) then
    sid, ended_at = candidate, tonumber(s[3])
  end
end
if not sid then
  if redis.call('EXISTS', cv(cid)) == 0 then return refuse('not_found', 'no such conversation') end
  -- Someone else's conversation is none of this agent's business; its own, still open, is a conflict.
  if not has_word(redis.call('HGET', cv(cid), 'agents'), aid) then
    return refuse('forbidden', 'you are not connected to this conversation')
  end
  return refuse('conflict', 'no session of this conversation is waiting for your wrap-up')
end
if #given == 0 then return refuse('bad_request', 'wrap_up needs a code (code or codes)') end
local qid = redis.call('HGET', k(KEY.session, sid), 'queue')
local q = Queues.queue_config(qid) or {wrap_up_codes = {}}
local labels, valid = {}, {}
for _, wc in ipairs(q.wrap_up_codes or {}) do
  labels[wc.code] = wc.label
  valid[#valid + 1] = wc.code
end
local codes = {}
for _, code in ipairs(given) do
  if not labels[code] then
    return refuse('bad_request', 'unknown wrap-up code; the queue accepts: ' .. table.concat(valid, ', '))
  end
  codes[#codes + 1] = {code = code, label = labels[code]}
end
local most = tonumber(q.max_dispositions) or 1
if #codes > most then
  return refuse('bad_request', 'the queue takes at most ' .. most .. ' wrap-up code' .. (most == 1 and '' or 's'))
end
if q.wrap_up_notes == 'required' and not string.find(notes, '%S') then
  return refuse('bad_request', 'the queue requires wrap-up notes')
end
if next_state ~= '' then
  local refused = Agents.check_reason(next_state, reason)
  if refused then return refused end
end
Lifecycle.close_wrap_up(sid, aid, codes[1].code, codes[1].label, notes, codes)
if next_state ~= '' then Agents.set_agent_state(aid, next_state, reason) end
Routing.route_all()
local result = {conversation_id = cid, session_id = sid, code = codes[1].code, label = codes[1].label}
if #codes > 1 then result.codes = codes end
return Conversations.done(result)
