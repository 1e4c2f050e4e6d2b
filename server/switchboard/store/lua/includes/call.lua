-- Routing prelude: the state of one call (`begin`), key names, refusals, deliveries, small text helpers.
-- Provides: R, P, NOW, INACTIVITY_MS, GRACE_MS, APPLY_HERE, OUT, ROUTE, DEADLINES, CONV_OPS, CONV_ORDER, PRIORITY_SCALE, HISTORY_LIMIT, EVENTS_MAXLEN, k, cv, cv_sessions, begin, refuse, deliver, hgetall, words, has_word.

-- Shared prelude of every routing script. The scripts are loaded as one Redis
-- Functions library (store/scripts.py): this prelude once, then each script's
-- body as a function that calls `begin` first. Loaded once, its helpers are
-- not rebuilt on every call as they would be for an EVAL script.
--
-- Calling convention of every script that includes this prelude:
--   KEYS[1]  routing root of the deployment, e.g. "{sb}"; every routing key is
--            KEYS[1] .. ":..." so they all hash to one Redis Cluster slot
--   ARGV[1]  name prefix, e.g. "sb"
--   ARGV[2]  now, milliseconds since the epoch (passed in so tests control time)
--   ARGV[3]  inactivity timeout, ms
--   ARGV[4]  disconnect grace, ms
--   ARGV[5]  "1": apply the conversation ops in this step (one Redis), "0": leave
--            them in the outboxes (Cluster); `begin` takes it out of ARGV, so
--   ARGV[5..] are, in the script, its own arguments (see its header)
-- Every script returns one JSON document: {ok = result, out = deliveries,
-- conv = pending conversation ops} or {err = {code, message}}. A script checks
-- everything before it writes, so a refusal leaves the state untouched.
--
-- A conversation has two sides. Its routing record {sb}:cv:<cid> (visitor,
-- channel, created_at, session, open, agents, monitors, ops) and session list
-- {sb}:cv:<cid>:sessions are the truth for routing and share the routing tag.
-- Its message side sb:c:{<cid>} (with the history stream ...:log and the
-- client_msg_id index ...:cmid) carries the conversation's own tag, so on Redis
-- Cluster it may live on another shard: it holds seq, last_activity, applied
-- and a replica of visitor, agents, monitors and open for the message path.
-- What a routing step has to do on the message side (append a history event,
-- update the replica) it writes as ops (see `conversation_op`). On Cluster they
-- go to the conversation's outbox, which the Router applies right after the
-- step with conversation_apply.lua; the step never touches the message side.
-- On one Redis the step applies them itself (`done`).


-- The state of one call. A library is loaded once and its functions run many
-- times, so `begin` sets these afresh at the start of every call.
local R, P, NOW, INACTIVITY_MS, GRACE_MS
-- true: apply this call's conversation ops here (one Redis: the message side is
-- at hand); false: leave them in the outboxes for conversation_apply (Cluster)
local APPLY_HERE
local OUT -- deliveries: {to = recipients, frame = frame}, or {cid, op} for an appended op
-- Queues to route at the end of the script: qid -> true when who can take a chat
-- changed (every waiting session is tried), or a set of sessions that just
-- entered it (only they are tried: the others already met the same agents).
local ROUTE
local DEADLINES
local CONV_OPS, CONV_ORDER -- conversation ops of this call, by conversation, and its order

local PRIORITY_SCALE = 1e13 -- ms a point of priority is worth without aging (see Queues.entry_score)
local HISTORY_LIMIT = 500
local EVENTS_MAXLEN = 1000000

local function k(...) return R .. ':' .. table.concat({...}, ':') end
local function cv(cid) return k(KEY.conversation, cid) end
local function cv_sessions(cid) return k(KEY.conversation, cid, 'sessions') end

local function begin(KEYS, ARGV)
  R, P = KEYS[1], ARGV[1]
  NOW = tonumber(ARGV[2])
  INACTIVITY_MS = tonumber(ARGV[3])
  GRACE_MS = tonumber(ARGV[4])
  APPLY_HERE = ARGV[5] == '1'
  table.remove(ARGV, 5) -- each script's own arguments start at ARGV[5]
  OUT, ROUTE, CONV_OPS, CONV_ORDER = {}, {}, {}, {}
  DEADLINES = k('deadlines')
end

local function refuse(code, message)
  return cjson.encode({err = {code = code, message = message}})
end


local function deliver(to, frame)
  OUT[#OUT + 1] = {to = to, frame = frame}
end

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function words(s)
  local t = {}
  for w in string.gmatch(s or '', '%S+') do t[#t + 1] = w end
  return t
end

local function has_word(spaced, w)
  return string.find(' ' .. (spaced or '') .. ' ', ' ' .. w .. ' ', 1, true) ~= nil
end
