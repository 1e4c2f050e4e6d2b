-- inactivity: ends a connected session in which nobody has written for the
-- inactivity timeout. Messages do not touch this deadline (they only stamp the
-- conversation's last activity); it is re-armed here, lazily, when it is early.
-- ARGV[5] session id
local sid = ARGV[5]
if not take_due('inact:' .. sid) then return done(false) end
local s = redis.call('HMGET', k('s', sid), 'status', 'conv')
if s[1] ~= 'active' and s[1] ~= 'conference' then return done(false) end
local last = tonumber(redis.call('HGET', ck(s[2]), 'last_activity') or NOW)
if last + INACTIVITY_MS > NOW then
  arm('inact:' .. sid, last + INACTIVITY_MS)
  return done(false)
end
end_session(sid, 'inactivity_timeout')
route_all()
return done(true)
