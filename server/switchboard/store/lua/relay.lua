-- relay: passes a transient frame (typing, read receipt) to the other side of a
-- conversation. Nothing is stored. Conversation keys only.
-- KEYS[1] conversation hash
-- ARGV[1] name prefix   ARGV[2] role: "customer" or "agent"   ARGV[3] sender id
-- ARGV[4] the frame (JSON), published as is
local conv, P, role, sender, payload = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local c = redis.call('HMGET', conv, 'visitor', 'agents', 'open', 'monitors')
if not c[1] then return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}}) end
local push = P .. ':push:'
if role == 'customer' then
  if c[1] ~= sender then return cjson.encode({err = {code = 'not_found', message = 'no such conversation'}}) end
else
  if not string.find(' ' .. (c[2] or '') .. ' ', ' ' .. sender .. ' ', 1, true) then
    return cjson.encode({err = {code = 'forbidden', message = 'you are not connected to this conversation'}})
  end
  redis.call('PUBLISH', push .. 'v:' .. c[1], payload)
end
for a in string.gmatch((c[2] or '') .. ' ' .. (c[4] or ''), '%S+') do
  if a ~= sender then redis.call('PUBLISH', push .. 'a:' .. a, payload) end
end
return cjson.encode({ok = true})
