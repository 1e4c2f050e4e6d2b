"""The AsyncAPI 3 document of the two sockets, generated from the frame structs.

The structs that decode every command (`incoming`) and describe every frame
out (`outgoing`) are the schemas, so the document cannot drift from what the
server accepts and sends. What a schema cannot say (ordering, resume,
delivery guarantees) stays in docs/protocol.md, which links here.
"""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from ..errors import CloseCode, ErrorCode
from . import bot, incoming, outgoing

SUBPROTOCOLS = {
    "switchboard.v1.json": "JSON text frames (the default when no subprotocol is asked for)",
    "switchboard.v1.msgpack": "MessagePack in binary frames",
}

#: channel -> (address, what the client sends, what the server sends)
CHANNELS: dict[str, tuple[str, Any, Any]] = {
    "customer": ("/ws/customer", incoming.CustomerCommand, outgoing.CustomerFrame),
    "agent": ("/ws/agent", incoming.AgentCommand, outgoing.AgentFrame),
    "bot": ("/ws/bot", bot.BotCommand, bot.BotFrame),
}


def _members(union: Any) -> list[type[msgspec.Struct]]:
    return [member for member in typing.get_args(union) if isinstance(member, type)]


def _tag(struct: type[msgspec.Struct]) -> str:
    return str(struct.__struct_config__.tag)


def document(version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of `/ws/customer`, `/ws/agent` and `/ws/bot`."""
    unions = [union for _, sent, received in CHANNELS.values() for union in (sent, received)]
    _, schemas = msgspec.json.schema_components(unions, ref_template="#/components/schemas/{name}")
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel, (address, sent, received) in CHANNELS.items():
        mine: dict[str, Any] = {}
        for direction, union in (("sends", sent), ("receives", received)):
            names = []
            for struct in _members(union):
                name = struct.__name__
                messages[name] = {
                    "name": _tag(struct),
                    "title": f"`{_tag(struct)}`",
                    "summary": (struct.__doc__ or "").strip().split("\n")[0] or f"the `{_tag(struct)}` frame",
                    "payload": {"$ref": f"#/components/schemas/{name}"},
                }
                mine[name] = {"$ref": f"#/components/messages/{name}"}
                names.append(name)
            operations[f"{channel}_{direction}"] = {
                # AsyncAPI speaks for the server: what the client sends, the server receives
                "action": "receive" if direction == "sends" else "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"what the {channel} client {direction[:-1]}s",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names],
            }
        channels[channel] = {
            "address": address,
            "title": f"the {channel} socket",
            "messages": mine,
            "bindings": {"ws": {"bindingVersion": "0.1.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard sockets",
            "version": version,
            "description": (
                "The customer's, the agent's and the bot's WebSocket. Every frame is an object with a `type`; a "
                "command may carry a `ref`, echoed by its `ack` or `error`. Ordering, resume and delivery "
                "guarantees are in docs/protocol.md."
            ),
            "x-subprotocols": SUBPROTOCOLS,
            "x-close-codes": {str(int(code)): code.name.lower() for code in CloseCode},
            "x-error-codes": sorted(code.value for code in ErrorCode),
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
