-- page_view: a visitor viewed a page. Appends it to the journey, extends the
-- visitor's web session or, after the idle time without a page view, starts a new
-- one, and arms the invite timers of the rules that match the page; the timers of
-- the page before are cancelled (the visitor left it).
-- ARGV[5] visitor id   ARGV[6] url   ARGV[7] title ("" none)
-- ARGV[8] web session idle time (ms)
-- ARGV[9] version of the invite rules the caller matched the url against ("" skips the check)
-- ARGV[10] the matching rules, JSON [[rule id, seconds on page], ...]
-- Writes nothing and returns {stale = true} when the rules changed since that version.
--- @include "includes/call"
--- @include "includes/deadlines"
--- @include "includes/conversations"
--- @include "includes/cards"
local vid, url, title, idle_ms = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local version, matches = ARGV[9], cjson.decode(ARGV[10])
if version ~= '' and (redis.call('GET', k('invite_rules', 'version')) or '0') ~= version then
  return Conversations.done({stale = true})
end

local webs = k(KEY.visitor, vid, 'webs')
local wid = redis.call('ZRANGE', webs, -1, -1)[1]
local last_seen = wid and tonumber(redis.call('HGET', k(KEY.web_session, wid), 'last_seen_at'))
local started = not last_seen or NOW - last_seen >= idle_ms
if started then
  wid = 'w' .. redis.call('INCR', k('seq', 'web'))
  redis.call('HSET', k(KEY.web_session, wid), 'visitor', vid, 'started_at', NOW, 'first_url', url)
  redis.call('ZADD', webs, NOW, wid)
  -- a web session older than the kept journey has no page left
  for _, old in ipairs(redis.call('ZRANGE', webs, 0, -JOURNEY_LENGTH - 1)) do redis.call('DEL', k(KEY.web_session, old)) end
  redis.call('ZREMRANGEBYRANK', webs, 0, -JOURNEY_LENGTH - 1)
end
redis.call('HSET', k(KEY.web_session, wid), 'last_seen_at', NOW, 'last_url', url)
redis.call('ZADD', k('archive', 'visitors'), 'NX', NOW, vid)
redis.call('ZADD', k('archive', 'idle_visitors'), NOW, vid)
redis.call('HINCRBY', k(KEY.web_session, wid), 'pages', 1)
local page = {url = url, ts = NOW}
if title ~= '' then page.title = title end
local journey = k(KEY.visitor, vid, 'journey')
redis.call('RPUSH', journey, cjson.encode(page))
redis.call('LTRIM', journey, -JOURNEY_LENGTH, -1)

-- A rule invites at most once per web session: no timer once it has.
local armed, timers = {}, {}
for _, match in ipairs(matches) do
  local rid, seconds = match[1], match[2]
  if redis.call('HEXISTS', k(KEY.web_session, wid), 'invited:' .. rid) == 0 then
    Deadline.arm('invite:' .. vid .. ':' .. rid, NOW + math.floor(seconds * 1000))
    armed[rid] = true
    timers[#timers + 1] = rid
  end
end
local running = k(KEY.visitor, vid, 'invite_timers')
local before = redis.call('SMEMBERS', running)
for _, rid in ipairs(before) do
  if not armed[rid] then Deadline.disarm('invite:' .. vid .. ':' .. rid) end
end
if #before > 0 then redis.call('DEL', running) end
if #timers > 0 then redis.call('SADD', running, unpack(timers)) end
return Conversations.done({web_session_id = wid, started = started})
