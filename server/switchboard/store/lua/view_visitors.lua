-- view_visitors (read only): visitors as the HTTP API shows them.
-- ARGV[5] mode: "online" (a page of the online visitors, ordered by id) or "one"
-- online: ARGV[6] cursor (the last visitor id of the page before; "" for the first)
--         ARGV[7] limit
-- one:    ARGV[6] visitor id; nil when there is no such visitor
--- @include "includes/call"
--- @include "includes/conversations"
--- @include "includes/cards"
local mode = ARGV[5]

local function summary(vid)
  local view = {visitor_id = vid, online = redis.call('SCARD', k(KEY.visitor, vid, 'conns')) > 0,
    page = cjson.null, web_session = cjson.null, conversation_id = cjson.null}
  local last = redis.call('LINDEX', k(KEY.visitor, vid, 'journey'), -1)
  if last then
    local page = cjson.decode(last)
    view.page = {url = page.url, title = page.title, since = page.ts}
  end
  local web = redis.call('ZRANGE', k(KEY.visitor, vid, 'webs'), -1, -1, 'WITHSCORES')
  if web[1] then view.web_session = {id = web[1], started_at = tonumber(web[2])} end
  local cid = redis.call('HGET', k(KEY.visitor, vid), 'conv')
  if cid and redis.call('HGET', cv(cid), 'open') == '1' then view.conversation_id = cid end
  return view
end

if mode == 'online' then
  local cursor, limit = ARGV[6], tonumber(ARGV[7])
  local ids = redis.call('ZRANGEBYLEX', k('visitors', 'online'), cursor == '' and '-' or '(' .. cursor, '+',
    'LIMIT', 0, limit + 1)
  local visitors = {}
  for i = 1, math.min(#ids, limit) do visitors[i] = summary(ids[i]) end
  return Conversations.done({visitors = visitors, next = #ids > limit and ids[limit] or cjson.null})
end

local vid = ARGV[6]
local created_at = redis.call('HGET', k(KEY.visitor, vid), 'created_at')
if not created_at then return Conversations.done(cjson.null) end
local view = summary(vid)
view.created_at = tonumber(created_at)
if view.web_session ~= cjson.null then
  local wid = view.web_session.id
  local w = hgetall(k(KEY.web_session, wid))
  view.web_session = {id = wid, started_at = tonumber(w.started_at), last_seen_at = tonumber(w.last_seen_at),
    pages = tonumber(w.pages), first_url = w.first_url, last_url = w.last_url, journey = Cards.web_pages(vid, wid)}
end
-- the current session of each of its conversations, newest first
local convs = redis.call('LRANGE', k(KEY.visitor, vid, 'convs'), -50, -1)
local latest = redis.call('HGET', k(KEY.visitor, vid), 'conv')
if latest and convs[#convs] ~= latest then convs[#convs + 1] = latest end -- recorded before the list existed
local sessions = {}
for i = #convs, 1, -1 do
  local sid = redis.call('HGET', cv(convs[i]), 'session')
  if sid then sessions[#sessions + 1] = sid end
end
view.sessions = sessions
return Conversations.done(view)
