-- relay: passes a transient frame (typing, read receipt) to the other side of a
-- conversation. Nothing is stored. Conversation keys only.
-- KEYS[1] conversation hash
-- ARGV[1] name prefix   ARGV[2] role: "customer" or "agent"   ARGV[3] sender id
-- ARGV[4] the frame (JSON), published as is
-- ARGV[5] "1": PUBLISH it here; "0": return the channels for the caller to
--         SPUBLISH to (Redis Cluster; see message.lua)
local conv, P, role, sender, payload = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local publish_here = ARGV[5] ~= '0'
local c = redis.call('HMGET', conv, 'visitor', 'agents', 'open', 'monitors')
if not c[1] then return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}}) end
local channels = {}
if role == 'customer' then
  if c[1] ~= sender then return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}}) end
else
  if not string.find(' ' .. (c[2] or '') .. ' ', ' ' .. sender .. ' ', 1, true) then
    return cjson.encode({err = {code = 'forbidden', message = 'you are not connected to this conversation'}})
  end
  channels[1] = P .. ':push:{v:' .. c[1] .. '}'
end
for a in string.gmatch((c[2] or '') .. ' ' .. (c[4] or ''), '%S+') do
  if a ~= sender then channels[#channels + 1] = P .. ':push:{a:' .. a .. '}' end
end
if not publish_here then return cjson.encode({ok = true, channels = channels}) end
for _, channel in ipairs(channels) do redis.call('PUBLISH', channel, payload) end
return cjson.encode({ok = true})
