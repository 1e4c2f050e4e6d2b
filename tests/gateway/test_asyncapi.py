"""`GET /api/v1/asyncapi.json`: the sockets described from the frame structs themselves."""

from __future__ import annotations

import typing
from typing import Any

import httpx

from switchboard.domain import frames as f
from switchboard.domain.errors import CloseCode, ErrorCode


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$ref"]] if "$ref" in value else [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def tags(union: Any) -> set[str]:
    return {member.__struct_config__.tag for member in typing.get_args(union)}


async def test_the_document_describes_every_command_and_frame_of_every_socket(sb):
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:  # public, like documentation
        response = await anonymous.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert {name: c["address"] for name, c in document["channels"].items()} == {
        "customer": "/ws/customer",
        "agent": "/ws/agent",
        "bot": "/ws/bot",
    }
    for channel, sent, received in (
        ("customer", f.CustomerCommand, f.CustomerFrame),
        ("agent", f.AgentCommand, f.AgentFrame),
        ("bot", f.BotCommand, f.BotFrame),
    ):
        for direction, union, action in (("sends", sent, "receive"), ("receives", received, "send")):
            operation = document["operations"][f"{channel}_{direction}"]
            assert operation["action"] == action
            named = {resolve(document, resolve(document, m["$ref"])["$ref"])["name"] for m in operation["messages"]}
            assert named == tags(union), (channel, direction)
    # every reference resolves, and each message's payload pins its `type`
    for ref in refs(document):
        resolve(document, ref)
    for message in document["components"]["messages"].values():
        payload = resolve(document, message["payload"]["$ref"])
        assert payload["properties"]["type"] == {"enum": [message["name"]]}
    info = document["info"]
    assert set(info["x-subprotocols"]) == {"switchboard.v1.json", "switchboard.v1.msgpack"}
    assert info["x-close-codes"]["4401"] == "unauthorized" and len(info["x-close-codes"]) == len(CloseCode)
    assert set(info["x-error-codes"]) == {code.value for code in ErrorCode}
    # limits the server enforces are in the schemas: a start_chat's language is a tag
    start = document["components"]["schemas"]["StartChat"]["properties"]
    assert start["language"]["pattern"] and start["skills"]["maxItems"] == 32
