"""The client package keeps its own copy of the frame types (it installs without the server): they must
not drift from the structs the server sends (server/switchboard/domain/frames/outgoing.py)."""

from __future__ import annotations

import typing

import msgspec
import pytest

import switchboard_client.commands as answers
from switchboard.domain.frames import outgoing
from switchboard_client.events import AGENT_EVENTS, CUSTOMER_EVENTS, Event, Part


def server_frames(union: object) -> dict[str, type[msgspec.Struct]]:
    return {cls.__struct_config__.tag: cls for cls in typing.get_args(union)}


def fields(cls: type[msgspec.Struct]) -> dict[str, bool]:
    """Each field's name on the wire, and whether it is required."""
    return {f.encode_name: f.required for f in msgspec.structs.fields(cls)}


def nested_parts(cls: type[msgspec.Struct]) -> list[tuple[str, type[msgspec.Struct]]]:
    """The fields whose type is (or holds) a client Part, with that Part."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in msgspec.structs.fields(cls):
        for arg in (hints[field.name], *typing.get_args(hints[field.name])):
            if isinstance(arg, type) and issubclass(arg, Part):
                found.append((field.encode_name, arg))
    return found


def assert_fits(client: type[msgspec.Struct], server: type[msgspec.Struct], where: str, required: bool = True) -> None:
    """Every field the client reads is one the server sends; with `required`, one the client needs is
    one the server always sends."""
    mine, theirs = fields(client), fields(server)
    assert set(mine) <= set(theirs), f"{where}: the server has no {set(mine) - set(theirs)}"
    if not required:
        return
    required_here_only = {name for name, required in mine.items() if required and not theirs[name]}
    assert not required_here_only, f"{where}: the server may leave out {required_here_only}"
    server_hints = typing.get_type_hints(server)
    server_names = {f.encode_name: f.name for f in msgspec.structs.fields(server)}
    for name, part in nested_parts(client):
        inner = [a for a in (server_hints[server_names[name]], *typing.get_args(server_hints[server_names[name]]))]
        server_part = next(a for a in inner if isinstance(a, type) and issubclass(a, msgspec.Struct))
        assert_fits(part, server_part, f"{where}.{name}")


@pytest.mark.parametrize(
    ("client_events", "server_union"),
    [(CUSTOMER_EVENTS, outgoing.CustomerFrame), (AGENT_EVENTS, outgoing.AgentFrame)],
    ids=["customer", "agent"],
)
def test_every_frame_the_server_sends_has_a_client_event_of_the_same_shape(
    client_events: dict[str, type[Event]], server_union: object
) -> None:
    server = server_frames(server_union)
    answered = {"ack"}  # acks answer commands (switchboard_client.commands), not events
    assert set(server) - answered == set(client_events)
    for tag, cls in client_events.items():
        assert_fits(cls, server[tag], tag)


def test_every_answer_type_reads_fields_the_server_acks_carry() -> None:
    for name, cls in vars(answers).items():
        if isinstance(cls, type) and issubclass(cls, answers.Answer):
            # one Ack struct serves every command on the server: which fields come depends on the command
            assert_fits(cls, outgoing.Ack, name, required=False)
