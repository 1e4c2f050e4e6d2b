"""Resume bookkeeping: which history events were delivered, per conversation, and where to resume from.

Live frames of one conversation may arrive out of `seq` order (docs/protocol.md, "Sequence numbers and
history"), so the highest `seq` delivered does not prove every lower one arrived. A resume therefore asks
again for the last few, and the ones already delivered are dropped: none is lost, none is doubled.

A resume never reaches below a conversation's floor: the history that came before this client. The
floor of a conversation the client started is 0; of one assigned or monitored, the history that came
with it; of one already going on when the client connected, the event before the first it delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: How many history events before the highest one delivered a resume asks for again.
REPLAY_OVERLAP = 16
#: The most conversations an agent's `hello` may name in `resume`.
MOST_CONVERSATIONS = 200


@dataclass(slots=True)
class _Conversation:
    floor: int | None = None  # None: going on before the client came, and no event of it delivered yet
    highest: int = 0
    recent: set[int] = field(default_factory=set)  # the seqs delivered within the overlap below `highest`


class Delivered:
    """The history events delivered so far, per conversation, most recently active last."""

    def __init__(self) -> None:
        self._conversations: dict[str, _Conversation] = {}

    def first_time(self, conversation_id: str, seq: int) -> bool:
        """Records a history event; False when it was delivered before (a replay's double)."""
        conversation = self._conversations.setdefault(conversation_id, _Conversation())
        if conversation.floor is None:
            conversation.floor = seq - 1
        if seq <= conversation.highest - REPLAY_OVERLAP or seq in conversation.recent:
            return False
        conversation.recent.add(seq)
        if seq > conversation.highest:
            conversation.highest = seq
            conversation.recent.difference_update([s for s in conversation.recent if s <= seq - REPLAY_OVERLAP])
            self._conversations[conversation_id] = self._conversations.pop(conversation_id)
        return True

    def start(self, conversation_id: str, history: list[int] | None = None) -> None:
        """A conversation whose history before this client is known: none (the client started it), or
        the seqs of the history that came with it (taken as delivered)."""
        conversation = self._conversations.setdefault(conversation_id, _Conversation())
        conversation.floor = max(history or [0])
        for seq in history or []:
            self.first_time(conversation_id, seq)

    def join(self, conversation_id: str) -> None:
        """A conversation going on before the client came: resumed from its start until an event of it is
        delivered (so a drop before that loses nothing, at the cost of replaying what came before)."""
        self._conversations.setdefault(conversation_id, _Conversation())

    def forget(self, conversation_id: str) -> None:
        self._conversations.pop(conversation_id, None)

    def tracked(self) -> list[str]:
        return list(self._conversations)

    def resume_point(self, conversation_id: str) -> int:
        """The `last_seq` to resume the conversation from."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return 0
        return max(conversation.floor or 0, conversation.highest - REPLAY_OVERLAP)

    def resume_points(self) -> dict[str, int]:
        """`last_seq` for every conversation tracked, at most `MOST_CONVERSATIONS` of the most recently active."""
        latest = list(self._conversations)[-MOST_CONVERSATIONS:]
        return {conversation_id: self.resume_point(conversation_id) for conversation_id in latest}
