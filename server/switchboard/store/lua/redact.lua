-- redact: one history entry loses its text (and, for an attachment or a card,
-- everything it carried): what stays is that it was redacted, by whom and when.
-- A stream entry cannot be changed in place, so the stream is written again
-- with the same ids (a conversation's history is bounded). The conversation's
-- live sockets get `message.redacted`. Conversation keys only.
-- KEYS[1] conversation hash   KEYS[2] its history stream
-- ARGV[1] name prefix   ARGV[2] seq   ARGV[3] who (the admin)   ARGV[4] now (ms)
-- ARGV[5] "1": PUBLISH here; "0": return the channels (Cluster; see message.lua)
-- Returns {ok = the redacted frame} or {ok = false} when the entry is not here.
local conv, log = KEYS[1], KEYS[2]
local P, seq, by, now = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local found = redis.call('XRANGE', log, seq .. '-0', seq .. '-0')
if #found == 0 then return cjson.encode({ok = false}) end
local entries = redis.call('XRANGE', log, '-', '+')
local redacted
redis.call('DEL', log)
for _, entry in ipairs(entries) do
  local id, fields = entry[1], entry[2]
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  if id == seq .. '-0' then
    local frame = cjson.decode(f.d)
    redacted = {type = frame.type, conversation_id = frame.conversation_id, message_id = frame.message_id,
      seq = frame.seq, from = frame.from, ts = frame.ts, redacted = {by = by, at = now}}
    f.d = cjson.encode(redacted)
  end
  redis.call('XADD', log, id, 'd', f.d, 'v', f.v or 'all')
end
local c = redis.call('HMGET', conv, 'visitor', 'agents', 'monitors')
local event = cjson.encode({type = 'message.redacted', conversation_id = redacted.conversation_id,
  message_id = redacted.message_id, seq = seq, redacted = redacted.redacted})
local channels = {}
if c[1] then channels[1] = P .. ':push:{v:' .. c[1] .. '}' end
for a in string.gmatch((c[2] or '') .. ' ' .. (c[3] or ''), '%S+') do channels[#channels + 1] = P .. ':push:{a:' .. a .. '}' end
if ARGV[5] == '1' then
  for _, channel in ipairs(channels) do redis.call('PUBLISH', channel, event) end
  return cjson.encode({ok = redacted})
end
return cjson.encode({ok = redacted, channels = channels, payload = event})
