-- view_sessions (read only): the card data of each given session.
-- ARGV[5..] session ids
--- @include "includes/conversations"
--- @include "includes/cards"
local views = {}
for i = 5, #ARGV do
  local v = Cards.session_view(ARGV[i])
  if v then views[#views + 1] = v end
end
return Conversations.done(views)
