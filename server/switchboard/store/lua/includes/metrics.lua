-- Routing prelude: deployment-wide counters and histograms, lifecycle events.
-- Provides: observe, lifecycle.
--- @include "includes/call"

-- Deployment-wide counters for /metrics, written in the same step as the event
-- they count (so every node reports the same totals and a crash never counts
-- an event twice). Hash {sb}:counters:
--   "<event type>|<queue>|<reason>"          count (queue and reason "" when none;
--                                            for agent.state_changed the new state)
--   "<histogram>|<queue>|<le>"               cumulative bucket count ("+Inf" last)
--   "<histogram>|<queue>|sum" / "|count"     sum of values (ms) and count
-- histograms: "answer" (wait_ms of session.connected), "handle" (handle_ms of session.ended)
-- HISTOGRAM_BUCKETS_MS comes from the generated prelude (domain/stats.py).

local function observe(name, queue, value)
  local c = k('counters')
  for _, le in ipairs(HISTOGRAM_BUCKETS_MS) do
    if value <= le then redis.call('HINCRBY', c, name .. '|' .. queue .. '|' .. le, 1) end
  end
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|+Inf', 1)
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|sum', value)
  redis.call('HINCRBY', c, name .. '|' .. queue .. '|count', 1)
end

local function lifecycle(event)
  event.ts = NOW
  redis.call('XADD', k('events'), 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'e', cjson.encode(event))
  -- the session's record changed with it: PostgreSQL gets the change (store/archive.py)
  if event.conversation_id then
    redis.call('ZADD', k('archive', 'dirty'), 'NX', NOW, event.conversation_id)
    redis.call('SADD', k('archive', 'routing'), event.conversation_id)
  end
  local queue = event.queue or ''
  -- an agent's reason is free text: its counter is by the new state instead
  local detail = event.type == 'agent.state_changed' and event.state or (event.reason or '')
  redis.call('HINCRBY', k('counters'), event.type .. '|' .. queue .. '|' .. detail, 1)
  if event.type == 'session.connected' and not event.requeued then observe('answer', queue, event.wait_ms) end
  if event.type == 'session.ended' and event.handle_ms then observe('handle', queue, event.handle_ms) end
end
