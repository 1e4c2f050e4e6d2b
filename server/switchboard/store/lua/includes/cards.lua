-- Routing prelude: sessions and visitors: customer, web sessions, journey, invitations, the card's view.
-- Provides: `Cards.*`: customer_of, JOURNEY_LENGTH, web_session_at, web_pages, pending_invite, session_view, required_skills, offer_frame.
--- @include "includes/call"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"

local Cards = {}

-- ------------------------------------------------------------------ sessions

function Cards.customer_of(s)
  local ok, c = pcall(cjson.decode, s.customer or '{}')
  if not ok or type(c) ~= 'table' then c = {} end
  return c
end

-- ------------------------------------------------------------------ visitors

-- A visitor's web sessions: {sb}:v:<vid>:webs holds their ids, scored by start.
-- A web session's pages are the journey entries from its start to its last page view.
local JOURNEY_LENGTH = 50

-- The web session in which time `at` fell (the latest one started by then), else
-- the visitor's current one; nil when it has none.
function Cards.web_session_at(vid, at)
  local webs = k(KEY.visitor, vid, 'webs')
  return redis.call('ZREVRANGEBYSCORE', webs, at, '-inf', 'LIMIT', 0, 1)[1]
    or redis.call('ZRANGE', webs, -1, -1)[1]
end

-- The pages of web session `wid` kept in the visitor's journey; every kept page
-- when `wid` is nil (pages recorded before web sessions existed).
function Cards.web_pages(vid, wid)
  local from, to = -math.huge, math.huge
  if wid then
    local w = redis.call('HMGET', k(KEY.web_session, wid), 'started_at', 'last_seen_at')
    from, to = tonumber(w[1]) or from, tonumber(w[2]) or to
  end
  local pages = {}
  for _, j in ipairs(redis.call('LRANGE', k(KEY.visitor, vid, 'journey'), -JOURNEY_LENGTH, -1)) do
    local page = cjson.decode(j)
    if page.ts >= from and page.ts <= to then pages[#pages + 1] = page end
  end
  return pages
end

-- A proactive invitation the visitor may still answer, or nil.
function Cards.pending_invite(vid, iid)
  local invite = hgetall(k(KEY.invite, iid))
  if not invite or invite.visitor ~= vid or invite.state ~= 'pending' or tonumber(invite.expires_at) < NOW then
    return nil
  end
  return invite
end

-- The session's attributes (a JSON object); an empty object when it has none.
function Cards.attributes_of(s)
  local ok, a = pcall(cjson.decode, s.attributes or '{}')
  if ok and type(a) == 'table' and next(a) ~= nil then return a end
  return cjson.decode('{}')
end

-- Everything the domain needs to build a card (see domain/cards.py). Its journey
-- is the pages of the web session in which the session was queued.
function Cards.session_view(sid)
  local s = hgetall(k(KEY.session, sid))
  if not s then return nil end
  s.queue_name = Queues.queue_name(s.queue)
  s.customer = Cards.customer_of(s)
  local agents = {}
  for _, a in ipairs(words(s.agents)) do agents[#agents + 1] = Agents.agent_public(a) end
  for _, a in ipairs(words(s.wrapping)) do
    if not has_word(s.agents, a) then agents[#agents + 1] = Agents.agent_public(a) end
  end
  s.agents = agents
  s.journey = Cards.web_pages(s.visitor, Cards.web_session_at(s.visitor, s.queued_at))
  if s.wrap_codes and s.wrap_codes ~= '' then s.wrap_codes = cjson.decode(s.wrap_codes) end
  if s.help then
    local help = cjson.decode(s.help)
    help.agent = Agents.agent_public(help.agent)
    s.help = help
  end
  return s
end

-- What a session needs of an agent now: the required skills, the acceptable
-- languages and the minimum levels (skill -> level) of those skills.
function Cards.required_skills(s, q)
  local skills = {}
  for _, x in ipairs(q.skills or {}) do skills[#skills + 1] = x end
  for _, x in ipairs(cjson.decode(s.skills or '[]')) do skills[#skills + 1] = x end
  local languages = {s.language}
  local minimums = q.min_proficiency or {}
  -- Routing steps widen the targeting once the session has waited long enough
  -- in this queue (a transfer starts the steps of the new queue afresh).
  local waited = NOW - tonumber(s.entered_at or s.queued_at)
  for _, step in ipairs(q.steps or {}) do
    if waited >= step.after_s * 1000 then
      if type(step.skills) == 'table' then skills = step.skills end
      if type(step.languages) == 'table' then languages = step.languages end
      if type(step.min_proficiency) == 'table' then minimums = step.min_proficiency end
    end
  end
  return skills, languages, minimums
end

function Cards.offer_frame(oid, sid, s, kind, expires_at, from_agent)
  local frame = {
    type = 'offer', offer_id = oid, kind = kind, conversation_id = s.conv, session_id = sid,
    customer = Cards.customer_of(s), attributes = Cards.attributes_of(s),
    queue = {id = s.queue, name = Queues.queue_name(s.queue)}, language = s.language, skills = cjson.decode(s.skills or '[]'),
    _history = History.mark(s.conv, THREAD_LENGTH, true, 'thread'),
    queued_at = tonumber(s.queued_at), offered_at = NOW, expires_at = expires_at,
  }
  frame.customer.verified = s.verified == '1'
  if s.summary and s.summary ~= '' then frame.summary = s.summary end
  if from_agent then frame.from_agent = Agents.agent_public(from_agent) end
  return frame
end
