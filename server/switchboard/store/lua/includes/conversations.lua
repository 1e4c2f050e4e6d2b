-- Routing prelude: conversations: audience, conversation ops, history marks, the step's answer (`done`), appending.
-- Provides: `Conversations.*`: audience, REPLICATED, OUTBOX_REPAIR_MS, conversation_op, history (read, fill, mark), encode_frame, publish_here, done, update_conversation, touch, append, system_message.
--- @include "_apply"
--- @include "includes/call"

local Conversations = {}

-- ------------------------------------------------------------------ conversations

-- Everyone who follows a conversation: its connected agents, the supervisors
-- monitoring it and, with `include_visitor`, its customer.
function Conversations.audience(cid, include_visitor)
  local c = redis.call('HMGET', cv(cid), 'visitor', 'agents', 'monitors')
  local to = {}
  if include_visitor and c[1] then to[1] = 'v:' .. c[1] end
  for _, a in ipairs(words(c[2])) do to[#to + 1] = 'a:' .. a end
  for _, a in ipairs(words(c[3])) do
    if not has_word(c[2], a) then to[#to + 1] = 'a:' .. a end
  end
  return to
end

-- Fields of the routing record that the message path reads from its replica.
-- `served`: every agent ever connected to it, who may still add notes after the end;
-- `barged`: the supervisors who joined it (includes/step_in), who may write to the customer.
-- `bot`, `bot_hook`: where the customer's messages go in the bot stage (includes/bots.lua).
local REPLICATED = {visitor = true, agents = true, monitors = true, open = true, served = true, barged = true,
  bot = true, bot_hook = true}

-- Sets fields of a conversation's routing record and of its replica.
-- Conversation ops: the outbox {sb}:outbox:<cid> is a list of JSON ops, each
-- numbered by the record's `ops` counter:
--   {n, at, set = {field = value}}   set fields of the replica
--   {n, at, touch = true}            last_activity = at (someone joined)
--   {n, at, append = frame, v = "all"|"agents", to = recipients, cmid = index key}
--                                    append frame to the history (it gets its
--                                    seq there) and deliver it to `to`
-- conversation_apply.lua applies them in order and skips the ones at or below
-- the replica's `applied`, so applying an outbox twice, or racing, is harmless.
-- The deadline outbox:<cid> makes the sweeper apply an outbox a crashed node
-- left behind; the Router trims applied ops at once (see outbox_trim.lua).
-- On one Redis (APPLY_HERE) a step applies its ops itself, in the same atomic
-- step, unless its conversation's outbox still holds ops of an earlier step:
-- those go first, so the step queues behind them.
local OUTBOX_REPAIR_MS = 3000

function Conversations.conversation_op(cid, op)
  op.n = redis.call('HINCRBY', cv(cid), 'ops', 1)
  op.at = NOW
  if not CONV_OPS[cid] then
    CONV_OPS[cid] = {}
    CONV_ORDER[#CONV_ORDER + 1] = cid
  end
  local ops = CONV_OPS[cid]
  ops[#ops + 1] = op
  return op.n
end

-- A conversation's history as frames carry it: `History.read`, `History.fill`, `History.mark`.
local History = {}

-- Fills the `_history` marks (see `history_mark`) of the result and of the
-- frames to deliver, on one Redis: the conversation's last events, read from
-- its message side once this step's ops are applied there. A conversation with
-- ops still in its outbox (`pending`) keeps its marks for the Router, which
-- reads them after applying the ops.
function History.read(cid, limit, messages_only)
  local entries = redis.call('XREVRANGE', P .. ':c:{' .. cid .. '}:log', '+', '-', 'COUNT',
    limit * (messages_only and 3 or 1))
  local events = {}
  for i = #entries, 1, -1 do
    local payload = entries[i][2][2] -- fields: d, payload, v, visibility
    if not messages_only or string.find(payload, '"type":"message"', 1, true) then
      events[#events + 1] = cjson.decode(payload)
    end
  end
  if #events > limit then
    local last = {}
    for i = #events - limit + 1, #events do last[#last + 1] = events[i] end
    events = last
  end
  return events
end

function History.fill(result, pending)
  local skip = {}
  for _, p in ipairs(pending) do skip[p.cid] = true end
  local read = {}
  local function fill(holder)
    local mark = type(holder) == 'table' and holder._history
    if not mark or skip[mark.cid] then return end
    local key = mark.cid .. '|' .. mark.limit .. '|' .. tostring(mark.messages_only)
    read[key] = read[key] or History.read(mark.cid, mark.limit, mark.messages_only)
    holder[mark.field] = read[key]
    holder._history = nil
  end
  fill(result)
  for _, d in ipairs(OUT) do fill(d.frame) end
end

-- LIST_FIELDS (fields that hold lists: Lua's cjson writes an empty list as {}, a frame
-- published from here has them written as []) comes from the generated prelude.

function Conversations.encode_frame(frame)
  local payload = cjson.encode(frame)
  if string.find(payload, ':{}', 1, true) then
    -- a key and its colon: inside a JSON string every quote is escaped, so no text matches
    for _, f in ipairs(LIST_FIELDS) do payload = string.gsub(payload, '"' .. f .. '":{}', '"' .. f .. '":[]') end
  end
  return payload
end

-- On one Redis, publishes the deliveries that are complete here; the Router
-- publishes the rest (a card it builds, history of a conversation with ops
-- pending, frames of ops left in an outbox).
function Conversations.publish_here()
  local rest = {}
  for _, d in ipairs(OUT) do
    local frame = d.frame
    if frame and not frame._card and not frame._history then
      local payload = Conversations.encode_frame(frame)
      for _, r in ipairs(d.to or {}) do redis.call('PUBLISH', P .. ':push:{' .. r .. '}', payload) end
    else
      rest[#rest + 1] = d
    end
  end
  OUT = rest
end

-- The step's answer. Applies its conversation ops here, or leaves them in the
-- outboxes and returns every pending op for the Router to apply (`conv`).
function Conversations.done(result)
  if result == nil then result = true end
  local conv, appended = {}, {}
  for _, cid in ipairs(CONV_ORDER) do
    -- PostgreSQL gets what changed (store/archive.py); on Cluster the ops are applied
    -- after this step, and the Router marks the conversation again once they are
    redis.call('ZADD', k('archive', 'dirty'), 'NX', NOW, cid)
    -- its record or sessions may have changed too (a message alone does not mark this)
    redis.call('SADD', k('archive', 'routing'), cid)
    local outbox = k('outbox', cid)
    if APPLY_HERE and redis.call('EXISTS', outbox) == 0 then
      local c = P .. ':c:{' .. cid .. '}'
      local _, frames = apply_ops(c, c .. ':log', c .. ':cmid', cid, CONV_OPS[cid])
      appended[cid] = frames
    else
      local encoded = {}
      for i, op in ipairs(CONV_OPS[cid]) do encoded[i] = cjson.encode(op) end
      redis.call('RPUSH', outbox, unpack(encoded))
      redis.call('ZADD', DEADLINES, NOW + OUTBOX_REPAIR_MS, 'outbox:' .. cid)
      -- every pending op: ones a crashed step left behind are applied first
      conv[#conv + 1] = {cid = cid, ops = redis.call('LRANGE', outbox, 0, -1)}
    end
  end
  if APPLY_HERE then History.fill(result, conv) end
  if next(appended) then
    -- deliveries of appended frames, and the message's id and seq, filled in here
    for i, d in ipairs(OUT) do
      local f = d.op and appended[d.cid] and appended[d.cid][d.op]
      if f then OUT[i] = {to = f.to, frame = f.frame} end
    end
    if type(result) == 'table' and result._message_op then
      local f = appended[result.conversation_id] and appended[result.conversation_id][result._message_op]
      if f then
        result.message_id, result.seq, result._message_op = f.frame.message_id, f.frame.seq, nil
      end
    end
  end
  if APPLY_HERE then Conversations.publish_here() end
  return cjson.encode({ok = result, out = OUT, conv = conv})
end

-- Sets fields of a conversation's routing record and of its replica.
function Conversations.update_conversation(cid, fields)
  if fields.agents and fields.agents ~= '' then
    local served = redis.call('HGET', cv(cid), 'served') or ''
    local joined = false
    for _, a in ipairs(words(fields.agents)) do
      if not has_word(served, a) then served, joined = (served == '' and a) or (served .. ' ' .. a), true end
    end
    if joined then fields.served = served end
  end
  local all, replica, replicated = {}, {}, false
  for name, value in pairs(fields) do
    all[#all + 1] = name
    all[#all + 1] = value
    if REPLICATED[name] then
      replica[name] = value
      replicated = true
    end
  end
  redis.call('HSET', cv(cid), unpack(all))
  if replicated then Conversations.conversation_op(cid, {set = replica}) end
end

-- Someone joined: the inactivity timeout counts from now.
function Conversations.touch(cid)
  Conversations.conversation_op(cid, {touch = true})
end

-- Appends a history event to the conversation and delivers it to `to` once it
-- has its seq (the Router fills in the delivery after applying the op).
-- `visibility` is "all" or "agents" (internal notes never reach a customer);
-- `cmid` ("role:sender:client_msg_id") indexes a client's message id.
function Conversations.append(cid, frame, to, visibility, cmid)
  local n = Conversations.conversation_op(cid, {append = frame, to = to, v = visibility or 'all', cmid = cmid})
  OUT[#OUT + 1] = {cid = cid, op = n}
  return n
end

-- A message from the system (someone joined or left) into the history, to `to`.
function Conversations.system_message(cid, text, to)
  return Conversations.append(cid, {type = 'message', from = {role = 'system'}, text = text}, to)
end

-- The conversation's last `limit` history events (messages only: its thread),
-- which the Router reads after applying the ops and puts in `field` of the
-- table holding this mark.
function History.mark(cid, limit, messages_only, field)
  return {cid = cid, limit = limit, messages_only = messages_only, field = field}
end
