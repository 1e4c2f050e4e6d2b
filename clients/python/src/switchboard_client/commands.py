"""What the client sends: command frames, and the `ack` that answers one, typed."""

from __future__ import annotations

from typing import Any

import msgspec

from .events import Card


class Ack(msgspec.Struct, kw_only=True):
    """A command's result; which fields are there depends on the command (docs/protocol.md)."""

    conversation_id: str | None = None
    session_id: str | None = None
    message_id: str | None = None
    seq: int | None = None
    offer_id: str | None = None
    expires_at: int | None = None
    invite_id: str | None = None
    state: str | None = None
    since: int | None = None
    reason: str | None = None
    kind: str | None = None
    code: str | None = None
    label: str | None = None
    queue: str | None = None
    rating: int | None = None
    opens_at: int | None = None
    supervisors: int | None = None
    monitoring: bool | None = None
    card: Card | None = None
    messages: list[dict[str, Any]] = []  # monitor: the history so far, as the server stored it


def command(type_: str, **fields: Any) -> dict[str, Any]:
    """A command frame; a field given as None is left out (the server's default applies)."""
    return {"type": type_, **{name: value for name, value in fields.items() if value is not None}}


def ack(answer: dict[str, Any]) -> Ack:
    return msgspec.convert(answer, Ack)
