"""What the client sends: command frames, and the answers (`ack`) to them, one type per kind of result
(docs/protocol.md lists each command's ack fields)."""

from __future__ import annotations

from typing import Any

import msgspec

from .events import Card


class Answer(msgspec.Struct, kw_only=True):
    """An `ack`'s fields; its `type` and `ref` are the client's business, not the caller's."""


class ChatStarted(Answer):
    """`start_chat`, `accept_invite`; with a first text, its `message_id` and `seq`."""

    conversation_id: str
    session_id: str
    message_id: str | None = None
    seq: int | None = None


class Sent(Answer):
    """`message`, `note`."""

    message_id: str
    seq: int


class InSession(Answer):
    """`accept`, `decline`, `leave`, `end_conference`."""

    conversation_id: str
    session_id: str


class Ended(Answer):
    """`end_chat`, `end_session`."""

    conversation_id: str
    reason: str
    session_id: str | None = None


class Rated(Answer):
    conversation_id: str
    session_id: str
    rating: int


class StateSet(Answer):
    state: str
    since: int
    reason: str | None = None


class WrappedUp(Answer):
    conversation_id: str
    session_id: str
    code: str
    label: str


class Transferred(Answer):
    """To a queue: `queue`. To an agent: the `offer_id` it got and when that `expires_at`."""

    conversation_id: str
    session_id: str
    queue: str | None = None
    offer_id: str | None = None
    expires_at: int | None = None


class ConferenceOffered(Answer):
    conversation_id: str
    session_id: str
    offer_id: str
    expires_at: int


class HelpAsked(Answer):
    conversation_id: str
    supervisors: int  # how many were asked


class ContactVerified(Answer):
    conversation_id: str
    card: Card


class Monitoring(Answer):
    """`monitor` (with the card and the history so far, notes included) and `unmonitor`."""

    conversation_id: str
    monitoring: bool
    card: Card | None = None
    messages: list[dict[str, Any]] = []


class Nothing(Answer):
    """The ack of a command without a result (`typing`, `read`, `page_view`, `dismiss_invite`)."""


def command(type_: str, **fields: Any) -> dict[str, Any]:
    """A command frame; a field given as None is left out (the server's default applies)."""
    return {"type": type_, **{name: value for name, value in fields.items() if value is not None}}
