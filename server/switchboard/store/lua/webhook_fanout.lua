-- webhook_fanout: turns lifecycle events into delivery jobs, one per subscribed
-- webhook, and acknowledges them in the consumer group in the same step.
-- It fans out every entry after the cursor up to ARGV[2], whichever node read
-- them, and moves the cursor: so each entry is fanned out exactly once, lanes
-- get their deliveries in stream order even when several nodes read at once,
-- and an entry read by a node that died is fanned out by the next call of any
-- node (or after XAUTOCLAIM when no other event comes).
-- ARGV[1] consumer group name   ARGV[2] up to this events id (inclusive)   ARGV[3] now (ms)
-- ARGV[4] lanes per webhook   ARGV[5] most deliveries waiting per webhook
-- ARGV[6] most entries per call
-- Returns {cursor, jobs created}; the caller calls again while cursor < ARGV[2].
local group, upto, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lanes, max_pending, batch = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cursor = redis.call('GET', CURSOR)
if not cursor then return {'', 0} end -- no webhook: the group is gone too
if not newer(upto, cursor) then return {cursor, 0} end
local entries = redis.call('XRANGE', EVENTS, '(' .. cursor, upto, 'COUNT', batch)

local hooks = {}
if #entries > 0 then
  local flat = redis.call('HGETALL', HOOKS)
  for i = 1, #flat, 2 do
    local wid, cfg = flat[i], cjson.decode(flat[i + 1])
    local h = {id = wid, since = redis.call('HGET', k(KEY.webhook, wid), 'since') or '0-0', pending = 0}
    if type(cfg.events) == 'table' and #cfg.events > 0 then
      h.types = {}
      for _, t in ipairs(cfg.events) do h.types[t] = true end
    end
    for n = 0, lanes - 1 do h.pending = h.pending + redis.call('LLEN', lane_key(wid, n)) end
    hooks[#hooks + 1] = h
  end
end

local created, ids = 0, {}
for _, entry in ipairs(entries) do
  local eid, fields = entry[1], entry[2]
  ids[#ids + 1] = eid
  local raw = ''
  for j = 1, #fields, 2 do
    if fields[j] == 'e' then raw = fields[j + 1] end
  end
  local decoded, ev = pcall(cjson.decode, raw)
  if decoded and type(ev) == 'table' and type(ev.type) == 'string' and string.sub(raw, 1, 1) == '{' then
    -- the body is the event as written, with its id first (never re-encoded)
    local body = '{"id":' .. cjson.encode(eid) .. ',' .. string.sub(raw, 2)
    local order = ''
    if type(ev.conversation_id) == 'string' then order = 'c:' .. ev.conversation_id
    elseif type(ev.agent) == 'string' then order = 'a:' .. ev.agent end
    local n = tonumber(string.sub(redis.sha1hex(order), 1, 7), 16) % lanes
    for _, h in ipairs(hooks) do
      if newer(eid, h.since) and (h.types == nil or h.types[ev.type]) then
        if h.pending >= max_pending then
          redis.call('HINCRBY', k(KEY.webhook, h.id), 'dropped', 1)
        else
          local did = eid .. '.' .. h.id
          if redis.call('HSETNX', k(KEY.webhook, h.id, 'jobs'), did, body) == 1 then
            if redis.call('RPUSH', lane_key(h.id, n), did) == 1 then
              redis.call('ZADD', DUE, now, lane_member(h.id, n))
            end
            h.pending = h.pending + 1
            created = created + 1
          end
        end
      end
    end
  end
end

if #ids > 0 then redis.call('XACK', EVENTS, group, unpack(ids)) end
if #entries == batch then
  cursor = ids[#ids]
else
  cursor = upto -- everything up to it is done (entries trimmed away are skipped)
end
redis.call('SET', CURSOR, cursor)
return {cursor, created}
