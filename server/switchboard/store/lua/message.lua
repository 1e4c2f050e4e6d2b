-- message: the hot path. Appends a customer or agent message (or an internal
-- note) to the conversation's history and publishes it, in one round trip.
-- Touches only the conversation's own keys, never routing state.
-- KEYS[1] conversation hash   KEYS[2] its history stream   KEYS[3] its client_msg_id index
-- KEYS[4] (one Redis only) the archive's set of conversations to copy to PostgreSQL;
--         on a cluster it lives on another shard and the caller marks it after
-- ARGV[1] name prefix         ARGV[2] now (ms)
-- ARGV[3] kind: "message" or "note"
-- ARGV[4] role: "customer", "agent" or "supervisor" (a whisper: a note of a supervisor
--         monitoring the conversation)          ARGV[5] sender id (visitor or agent)
-- ARGV[6] sender display name ("" none)    ARGV[7] text
-- ARGV[8] client_msg_id ("" none)
-- ARGV[9] ("" none) JSON: {rich} a rich message (checked by domain/rich.py), or
--         {choice, reply_to}: the customer picks a value of the rich message with that
--         seq; its label becomes the text (domain/rich.py says why), or {attachment}: a file
--         sent (gateway/http/attachments.py), making the message one of kind "attachment"
-- ARGV[10] "1": PUBLISH the frame here (one Redis); "0": return it with its channels
--         for the caller to SPUBLISH (Redis Cluster: a script may only publish to
--         channels of its own slot)
-- Roles "bot" and "system" (the conversations API) may write while the session is open.
-- Returns {ok = {message_id, seq, bot_hook?}} (and with ARGV[10] "0": payload, channels) or
-- {err = {code, message}}; {err = {code = "ended"}} tells the caller to open a new
-- session (a customer writing after the end).
local conv, log, cmids = KEYS[1], KEYS[2], KEYS[3]
local P, NOW = ARGV[1], tonumber(ARGV[2])
local kind, role, sender, name, text, cmid = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local extras = ARGV[9] ~= '' and cjson.decode(ARGV[9]) or {}
local publish_here = ARGV[10] ~= '0'

-- The label of `value` among the choices of a stored rich message; nil when it has none such.
local function choice_label(rich, value)
  if type(rich) ~= 'table' then return nil end
  if rich.kind == 'quick_replies' then
    for _, option in ipairs(rich.options or {}) do
      if option.value == value then return option.label end
    end
    return nil
  end
  local cards = rich.kind == 'list' and (rich.items or {}) or {rich}
  for _, card in ipairs(cards) do
    for _, button in ipairs(card.buttons or {}) do
      if button.value == value then return button.label end
    end
  end
  return nil
end

local c = redis.call('HMGET', conv, 'visitor', 'agents', 'open', 'seq', 'monitors', 'served', 'barged', 'bot',
  'bot_hook')
if not c[1] then return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}}) end
local agents = ' ' .. (c[2] or '') .. ' '
local cid = string.match(conv, ':c:{(.*)}$')
if role == 'customer' and c[1] ~= sender then
  return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}})
end
if cmid ~= '' then
  -- A retried send (same client_msg_id) is acknowledged again, never stored
  -- twice, even when the session ended in between.
  local seq = redis.call('HGET', cmids, role .. ':' .. sender .. ':' .. cmid)
  if seq then return cjson.encode({ok = {message_id = cid .. ':' .. seq, seq = tonumber(seq), duplicate = true}}) end
end
local function listed(spaced) return string.find(' ' .. (spaced or '') .. ' ', ' ' .. sender .. ' ', 1, true) end
local monitoring = listed(c[5])
if role == 'customer' then
  if c[3] ~= '1' then return cjson.encode({err = {code = 'ended', message = 'the session has ended'}}) end
elseif role == 'supervisor' then
  if kind ~= 'note' or not monitoring then
    return cjson.encode({err = {code = 'forbidden', message = 'monitor the conversation before you whisper'}})
  end
  if c[3] ~= '1' then return cjson.encode({err = {code = 'conflict', message = 'the conversation is not live'}}) end
elseif role == 'bot' or role == 'system' then
  if c[3] ~= '1' then return cjson.encode({err = {code = 'conflict', message = 'the session has ended'}}) end
  -- a socket bot (its name the sender) writes only while the conversation is in its bot stage
  if role == 'bot' and sender ~= '' and (c[8] or '') ~= sender then
    return cjson.encode({err = {code = 'conflict', message = 'the conversation is not in your bot stage'}})
  end
elseif not string.find(agents, ' ' .. sender .. ' ', 1, true)
  -- an agent that served the conversation may still add notes after its session ended
  and not (kind == 'note' and string.find(' ' .. (c[6] or '') .. ' ', ' ' .. sender .. ' ', 1, true))
  -- a supervisor who barged in writes like a conference guest while the session is open
  and not (kind == 'message' and c[3] == '1' and listed(c[7])) then
  return cjson.encode({err = {code = 'forbidden', message = 'you are not connected to this conversation'}})
end

if extras.choice then
  local asked = redis.call('XRANGE', log, extras.reply_to .. '-0', extras.reply_to .. '-0')[1]
  local label = asked and choice_label(cjson.decode(asked[2][2]).rich, extras.choice)
  if not label then
    return cjson.encode({err = {code = 'bad_request', message = 'no such choice in that message'}})
  end
  text = label
end

local seq = tonumber(c[4]) + 1
redis.call('HSET', conv, 'seq', seq, 'last_activity', NOW)
local from = {role = role}
if role == 'agent' or role == 'supervisor' or (role == 'bot' and sender ~= '') then from.id = sender end
if name ~= '' then from.display_name = name end
local message_id = cid .. ':' .. seq
local frame = {type = kind, conversation_id = cid, message_id = message_id, seq = seq,
  from = from, text = text, ts = NOW, rich = extras.rich, choice = extras.choice, reply_to = extras.reply_to}
if extras.attachment then
  frame.kind = 'attachment'
  frame.attachment = extras.attachment
end
if cmid ~= '' then
  frame.client_msg_id = cmid
  redis.call('HSET', cmids, role .. ':' .. sender .. ':' .. cmid, seq)
end
local payload = cjson.encode(frame)
local audience = kind == 'note' and 'agents' or 'all'
redis.call('XADD', log, seq .. '-0', 'd', payload, 'v', audience)
if KEYS[4] then redis.call('ZADD', KEYS[4], 'NX', NOW, cid) end

local channels = {}
if audience == 'all' then channels[1] = P .. ':push:{v:' .. c[1] .. '}' end
for a in string.gmatch((c[2] or '') .. ' ' .. (c[5] or ''), '%S+') do
  channels[#channels + 1] = P .. ':push:{a:' .. a .. '}'
end
-- in the bot stage the customer's words go to its socket bot too (includes/bots.lua)
local to_bot = role == 'customer' and kind == 'message'
if to_bot and (c[8] or '') ~= '' then channels[#channels + 1] = P .. ':push:{b:' .. c[8] .. '}' end
local ok = {message_id = message_id, seq = seq}
-- a webhook bot's: the gateway POSTs the message to it (gateway/bot_webhook.py)
if to_bot and c[9] == '1' then ok.bot_hook = true end
if role == 'agent' and not string.find(agents, ' ' .. sender .. ' ', 1, true) and not monitoring then
  channels[#channels + 1] = P .. ':push:{a:' .. sender .. '}' -- a note after the end: its own tabs too
end
if not publish_here then
  return cjson.encode({ok = ok, payload = payload, channels = channels})
end
for _, channel in ipairs(channels) do redis.call('PUBLISH', channel, payload) end
return cjson.encode({ok = ok})
