-- Shared prelude of the webhook scripts (their library's, see store/scripts.py).
--
-- KEYS[1]  routing root of the deployment, e.g. "{sb}"; every key below is
--          KEYS[1] .. ":...", in the slot of the events stream, so fanning an
--          event out and acknowledging it in the consumer group is one step.
--
-- Keys (store/keys.py spells the same names):
--   webhooks             hash: webhook id -> the webhook (JSON, with its secret)
--   wh:<id>              hash: since, created_at and the figures (delivered, failed, ...)
--   wh:<id>:lane:<n>     list: delivery ids waiting in lane n, oldest first; the head
--                        is the one being sent or waiting for its retry
--   wh:<id>:jobs         hash: delivery id -> request body (waiting and dead deliveries)
--   wh:<id>:tries        hash: delivery id -> {attempts, last_error, last_status, at} after a failure
--   wh:<id>:dead         list: dead delivery ids, newest first
--   wh:<id>:deadinfo     hash: dead delivery id -> {attempts, last_error, last_status, at, lane}
--   wh:due               sorted set: "<id>:<n>" for every non-empty lane; score = when its
--                        head may be sent next (now, a retry time, or a lease's end)
--   wh:cursor            string: the newest events entry already fanned out

-- The state of one call, set by `begin` (the library is loaded once, its
-- functions run many times).
local R, HOOKS, EVENTS, DUE, CURSOR
local function k(...) return R .. ':' .. table.concat({...}, ':') end
local function begin(KEYS)
  R = KEYS[1]
  HOOKS, EVENTS, DUE, CURSOR = k('webhooks'), k('events'), k(KEY.webhook, 'due'), k(KEY.webhook, 'cursor')
end

local function lane_key(wid, n) return k(KEY.webhook, wid, 'lane', n) end
local function lane_member(wid, n) return wid .. ':' .. n end
local function split_member(member) return string.match(member, '^(.+):(%d+)$') end

-- stream ids "<ms>-<seq>" compared as numbers
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function newer(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  return am > bm or (am == bm and as > bs)
end

-- The head of a lane was settled: the next one is due now, or the lane leaves the due set.
local function next_in_lane(wid, n, now)
  if redis.call('LLEN', lane_key(wid, n)) > 0 then
    redis.call('ZADD', DUE, now, lane_member(wid, n))
  else
    redis.call('ZREM', DUE, lane_member(wid, n))
  end
end
