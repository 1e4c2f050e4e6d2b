"""What a customer who comes back gets: the conversation it returns to, and where its replay starts."""

from __future__ import annotations

from dataclasses import dataclass

from .states import Channel, SessionStatus


def goes_on(status: str, channel: str) -> bool:
    """A closed webchat is over: the visitor starts a new chat. A messaging conversation is a thread that goes on."""
    return not (status == SessionStatus.CLOSED and channel == Channel.WEBCHAT)


@dataclass(frozen=True, slots=True)
class Replay:
    recovered: bool  # the client's `last_seq` matched the stored history
    after: int  # history with a higher seq is replayed


def replay_from(last_seq: int, stored: int) -> Replay:
    """After the client's `last_seq`, or the whole history when the store holds less than the client has
    seen (it was restored from an older backup): the client then replaces what it holds."""
    recovered = last_seq <= stored
    return Replay(recovered, last_seq if recovered else 0)
