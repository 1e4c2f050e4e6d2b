-- Routing prelude: a session's life: connecting an agent, ending, wrap-up, an agent's conversations.
-- Provides: `Lifecycle.*`: AGENT_CONVERSATIONS_KEPT, remember_conversation, finished, end_session, close_wrap_up.
--- @include "includes/call"
--- @include "includes/metrics"
--- @include "includes/deadlines"
--- @include "includes/queues"
--- @include "includes/conversations"
--- @include "includes/agents"
--- @include "includes/cards"
--- @include "includes/routing"
--- @include "includes/side_offers"

local Lifecycle = {}

-- The conversations an agent took part in, newest first, for its transcript
-- search (GET /conversations with its token); the oldest fall off.
local AGENT_CONVERSATIONS_KEPT = 1000
function Lifecycle.remember_conversation(aid, cid)
  local key = k(KEY.agent, aid, 'convs')
  redis.call('ZADD', key, NOW, cid)
  redis.call('ZREMRANGEBYRANK', key, 0, -AGENT_CONVERSATIONS_KEPT - 1)
end

-- The conversation's last session closed: past the live window, and once
-- PostgreSQL has all of it, it may leave Redis (archive_trim re-checks both).
function Lifecycle.finished(cid)
  redis.call('ZADD', k('archive', 'finished'), NOW, cid)
end

connect_agent = function(sid, aid)
  local s = hgetall(k(KEY.session, sid))
  local first = not s.connected_at or s.connected_at == ''
  redis.call('HSET', k(KEY.session, sid), 'status', 'active', 'agents', aid, 'owner', aid, 'offer', '', 'transferred_from', '')
  if first then
    redis.call('HSET', k(KEY.session, sid), 'connected_at', NOW)
    Queues.record_answer(s.queue, NOW - tonumber(s.queued_at), tonumber(s.entry_pos or 1))
  end
  redis.call('SADD', k(KEY.agent, aid, 'slots'), sid)
  redis.call('HSET', k(KEY.agent, aid), 'idle_since', NOW)
  Lifecycle.remember_conversation(aid, s.conv)
  Conversations.update_conversation(s.conv, {agents = aid})
  Conversations.touch(s.conv)
  Deadline.arm('inact:' .. sid, Queues.inactivity_due(s.queue, NOW, false))
  Deadline.disarm('maxwait:' .. sid) -- max_wait_s bounds the wait for a first agent only
  -- the agent finds it in conversation.assigned
  local to = Conversations.audience(s.conv, true)
  for i, r in ipairs(to) do if r == 'a:' .. aid then table.remove(to, i) break end end
  Conversations.append(s.conv, {type = 'chat.connected', session_id = sid, agent = Agents.agent_public(aid)}, to)
  deliver({'a:' .. aid}, {type = 'conversation.assigned', conversation_id = s.conv,
    _card = Cards.session_view(sid), _history = History.mark(s.conv, HISTORY_LIMIT, false, 'messages')})
  if first then
    lifecycle({type = 'session.connected', conversation_id = s.conv, session_id = sid,
      queue = s.queue, agent = aid, wait_ms = NOW - tonumber(s.queued_at)})
  else
    -- connected again after a transfer or a lost agent: `requeued`, and the wait
    -- is the one in its current queue (answer times count first connections only)
    lifecycle({type = 'session.connected', conversation_id = s.conv, session_id = sid, queue = s.queue,
      agent = aid, wait_ms = NOW - tonumber(s.entered_at or s.queued_at), requeued = true})
  end
  Agents.reindex_agent(aid)
end

-- Ends an open session. Connected agents go to wrap-up; the customer is told.
-- `detail`: why, in words (the conversations API's `end`), kept with the reason.
function Lifecycle.end_session(sid, reason, detail)
  SideOffers.drop_side_offer(sid, 'customer_left', nil)
  local s = hgetall(k(KEY.session, sid))
  if s.status == 'offered' and s.offer ~= '' then
    local o = Routing.remove_offer(s.offer)
    if o then
      deliver({'a:' .. o.agent}, {type = 'offer.revoked', offer_id = s.offer, reason = 'customer_left'})
      Agents.reindex_agent(o.agent)
    end
  end
  if s.status == 'waiting' or s.status == 'offered' then Queues.dequeue(sid, s.queue) end
  local agents = words(s.agents)
  local q = Queues.queue_config(s.queue) or {wrap_up_timeout_s = 120}
  local status = #agents > 0 and 'wrap_up' or 'closed'
  redis.call('HSET', k(KEY.session, sid), 'status', status, 'ended_at', NOW, 'end_reason', reason,
    'agents', '', 'wrapping', table.concat(agents, ' '), 'offer', '', 'end_detail', detail or '')
  if status == 'closed' then Lifecycle.finished(s.conv) end
  for _, aid in ipairs(agents) do
    Deadline.arm('wrapup:' .. sid .. ':' .. aid, NOW + math.floor(q.wrap_up_timeout_s * 1000))
    if q.release_capacity_on == 'end' then
      -- the slot is free now; the session stays in `slots` until its wrap-up
      redis.call('SADD', k(KEY.agent, aid, 'released'), sid)
      Agents.reindex_agent(aid)
    end
  end
  Deadline.disarm('inact:' .. sid)
  local to = Conversations.audience(s.conv, true)
  Conversations.update_conversation(s.conv, {open = '0', agents = '', barged = ''})  -- supervisors too
  Conversations.append(s.conv, {type = 'chat.ended', session_id = sid, reason = reason}, to)
  if s.connected_at and s.connected_at ~= '' then
    -- Someone served the customer: ask how it went (kept in the history, so a
    -- customer that comes back later still gets the question).
    Conversations.append(s.conv, {type = 'csat.requested', session_id = sid}, {'v:' .. s.visitor})
  end
  local event = {type = 'session.ended', conversation_id = s.conv, session_id = sid,
    queue = s.queue, reason = reason, agent = agents[1], detail = detail}
  if s.status == 'bot' then event.bot = true end -- ended before a hand-off: contained by the bot
  if s.connected_at and s.connected_at ~= '' then
    event.handle_ms = NOW - tonumber(s.connected_at)
    event.wait_ms = tonumber(s.connected_at) - tonumber(s.queued_at)
  else
    event.waited_ms = NOW - tonumber(s.queued_at) -- never connected: how long the customer waited
  end
  Deadline.disarm('maxwait:' .. sid)
  lifecycle(event)
end

-- Closes one agent's wrap-up of an ended session; frees the slot. `codes`
-- ({code, label} each, `code` and `label` the first) when it gave several.
function Lifecycle.close_wrap_up(sid, aid, code, label, notes, codes)
  local s = hgetall(k(KEY.session, sid))
  local rest = {}
  for _, a in ipairs(words(s.wrapping)) do if a ~= aid then rest[#rest + 1] = a end end
  local several = codes and #codes > 1
  redis.call('HSET', k(KEY.session, sid), 'wrapping', table.concat(rest, ' '), 'wrap_code', code or '',
    'wrap_label', label, 'wrap_notes', notes or '', 'wrapped_at', NOW,
    'wrap_codes', several and cjson.encode(codes) or '')
  if #rest == 0 then
    redis.call('HSET', k(KEY.session, sid), 'status', 'closed')
    Lifecycle.finished(s.conv)
  end
  redis.call('SREM', k(KEY.agent, aid, 'slots'), sid)
  redis.call('SREM', k(KEY.agent, aid, 'released'), sid)
  Deadline.disarm('wrapup:' .. sid .. ':' .. aid)
  local wrap = {code = code or cjson.null, label = label}
  if notes and notes ~= '' then wrap.notes = notes end
  if several then wrap.codes = codes end
  deliver({'a:' .. aid}, {type = 'conversation.closed', conversation_id = s.conv, session_id = sid, wrap_up = wrap})
  local event = {type = 'session.wrapped_up', conversation_id = s.conv, session_id = sid,
    queue = s.queue, agent = aid, code = code or cjson.null}
  -- the report's handle time: talk (connected -> ended) and wrap-up (ended -> now)
  if s.ended_at and s.ended_at ~= '' then
    event.wrap_ms = NOW - tonumber(s.ended_at)
    if s.connected_at and s.connected_at ~= '' then event.talk_ms = tonumber(s.ended_at) - tonumber(s.connected_at) end
  end
  if several then
    event.codes = {}
    for i, c in ipairs(codes) do event.codes[i] = c.code end
  end
  lifecycle(event)
  Agents.reindex_agent(aid)
end
