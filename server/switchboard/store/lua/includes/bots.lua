-- Routing prelude: the bot stage of a queue with a bot (domain/bots.py): entering it, leaving it.
-- Provides: `Bots.*`: enter, leave.
--- @include "includes/call"
--- @include "includes/conversations"

local Bots = {}

-- The session `sid` of conversation `cid` starts in the bot stage of queue `qid` (its
-- config `q`, session hash `s`). The message side learns where the customer's messages go
-- (`bot`: a socket bot's name, published on its channel b:<name>; `bot_hook`: a webhook
-- bot, which the gateway POSTs to). A socket bot is told of the conversation, and it is
-- listed under the bot so a bot that connects later gets it (gateway/bot_socket.py).
-- Returns the recipients the customer's first message also goes to.
function Bots.enter(cid, sid, qid, q, s)
  local bot = q.bot
  if type(bot) ~= 'table' then return {} end
  if bot.url then
    Conversations.update_conversation(cid, {bot = '', bot_hook = '1'})
    return {}
  end
  Conversations.update_conversation(cid, {bot = bot.name, bot_hook = ''})
  redis.call('ZADD', k('bot', bot.name, 'convs'), NOW, cid)
  redis.call('SADD', k('bots'), bot.name)
  deliver({'b:' .. bot.name}, {type = 'bot.conversation', conversation_id = cid, session_id = sid, queue = qid,
    language = s.language, channel = s.channel, customer = cjson.decode(s.customer or '{}'),
    attributes = cjson.decode(s.attributes or '{}')})
  return {'b:' .. bot.name}
end

-- The conversation's session leaves the bot stage (`reason`: "handed_off" or "ended"):
-- the customer's messages go to the bot no more, and a socket bot is told.
function Bots.leave(cid, sid, reason)
  local c = redis.call('HMGET', cv(cid), 'bot', 'bot_hook')
  local bot = c[1] or ''
  if bot == '' and (c[2] or '') == '' then return end
  Conversations.update_conversation(cid, {bot = '', bot_hook = ''})
  if bot ~= '' then
    redis.call('ZREM', k('bot', bot, 'convs'), cid)
    deliver({'b:' .. bot}, {type = 'bot.conversation_ended', conversation_id = cid, session_id = sid, reason = reason})
  end
end
