"""Resume bookkeeping: which history events were delivered, per conversation, and where to resume from.

Live frames of one conversation may arrive out of `seq` order (docs/protocol.md, "Sequence numbers and
history"), so the highest `seq` delivered does not prove every lower one arrived. A resume therefore asks
again for the last few, and the ones already delivered are dropped: none is lost, none is doubled.
"""

from __future__ import annotations

#: How many history events before the highest one delivered a resume asks for again.
REPLAY_OVERLAP = 16
#: The most conversations an agent's `hello` may name in `resume`.
MOST_CONVERSATIONS = 200


class Delivered:
    """The history events delivered so far, per conversation."""

    def __init__(self) -> None:
        self._highest: dict[str, int] = {}
        self._recent: dict[str, set[int]] = {}  # the seqs delivered within the overlap below the highest

    def first_time(self, conversation_id: str, seq: int) -> bool:
        """Records a history event; False when it was delivered before (a replay's double)."""
        highest = self._highest.get(conversation_id, 0)
        recent = self._recent.setdefault(conversation_id, set())
        if seq <= highest - REPLAY_OVERLAP or seq in recent:
            return False
        recent.add(seq)
        if seq > highest:
            self._highest.pop(conversation_id, None)  # most recently active last: the first to be dropped is the oldest
            self._highest[conversation_id] = seq
            floor = seq - REPLAY_OVERLAP
            recent.difference_update([s for s in recent if s <= floor])
        return True

    def track(self, conversation_id: str) -> None:
        """Resumes this conversation from its start until an event of it is delivered."""
        self._highest.setdefault(conversation_id, 0)

    def forget(self, conversation_id: str) -> None:
        self._highest.pop(conversation_id, None)
        self._recent.pop(conversation_id, None)

    def tracked(self) -> list[str]:
        return list(self._highest)

    def resume_point(self, conversation_id: str) -> int:
        """The `last_seq` to resume the conversation from."""
        return max(0, self._highest.get(conversation_id, 0) - REPLAY_OVERLAP)

    def resume_points(self) -> dict[str, int]:
        """`last_seq` for every conversation tracked, at most `MOST_CONVERSATIONS` of the most recently active."""
        latest = list(self._highest)[-MOST_CONVERSATIONS:]
        return {conversation_id: self.resume_point(conversation_id) for conversation_id in latest}
