"""The pure domain: cards, schemas, text rules; and that it stays free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

from switchboard.domain import frames
from switchboard.domain.cards import build_card
from switchboard.domain.config import AgentConfig, QueueConfig, decode_config
from switchboard.domain.errors import ErrorCode, SwitchboardError

DOMAIN = Path(__file__).resolve().parents[2] / "server" / "switchboard" / "domain"
IO_MODULES = {
    "redis",
    "starlette",
    "uvicorn",
    "websockets",
    "asyncio",
    "socket",
    "httpx",
    "prometheus_client",
    "valkey",
}


def test_domain_imports_no_io_library():
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in IO_MODULES, f"{path.name} imports {name}"


def session(**fields):
    base = {
        "id": "s1",
        "conv": "c1",
        "queue": "support",
        "queue_name": "Support",
        "channel": "webchat",
        "status": "waiting",
        "queued_at": "1000",
        "agents": {},
        "journey": {},
        "customer": {},
        "verified": "0",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("fields", "color", "label"),
    [
        ({"status": "waiting"}, "blue", "Waiting"),
        ({"status": "active", "connected_at": "2000"}, "blue", "Active"),
        ({"status": "wrap_up", "end_reason": "agent_ended", "ended_at": "5000"}, "blue", "Ended by agent"),
        ({"status": "wrap_up", "end_reason": "customer_ended", "ended_at": "5000"}, "white", "Ended by customer"),
        (
            {"status": "closed", "end_reason": "customer_abandoned", "ended_at": "5000"},
            "white",
            "Abandoned by customer",
        ),
        (
            {
                "status": "closed",
                "end_reason": "customer_ended",
                "wrap_code": "resolved",
                "wrap_label": "Resolved",
                "wrapped_at": "6000",
            },
            "gray",
            "Resolved",
        ),
        (
            {"status": "closed", "end_reason": "agent_ended", "wrap_label": "Wrap-up timed out", "wrapped_at": "6000"},
            "gray",
            "Wrap-up timed out",
        ),
    ],
)
def test_card_colour_and_label_follow_the_contract(fields, color, label):
    card = build_card(session(**fields), now_ms=9000)
    assert (card["color"], card["status_label"]) == (color, label)


def test_card_fields():
    card = build_card(
        session(
            status="closed",
            connected_at="2000",
            ended_at="62000",
            end_reason="agent_ended",
            wrap_code="resolved",
            wrap_label="Resolved",
            wrap_notes="ok",
            wrapped_at="63000",
            channel="messaging",
            customer={"name": "Bob", "email": ""},
            verified="1",
            agents=[{"id": "a", "display_name": "A"}],
        ),
        now_ms=99_000,
    )
    assert card["title"] == "Messaging" and card["icon"] == "chat"
    assert card["duration_s"] == 61 and card["journey"] == []
    assert card["customer"] == {"name": "Bob", "verified": True}
    assert card["wrap_up"] == {"code": "resolved", "label": "Resolved", "notes": "ok"}
    assert card["queue"] == {"id": "support", "name": "Support"}


def test_check_text_limits():
    assert frames.check_text("hi", 10) == "hi"
    with pytest.raises(SwitchboardError) as exc:
        frames.check_text("x" * 11, 10)
    assert exc.value.code is ErrorCode.TOO_LONG
    with pytest.raises(SwitchboardError) as exc:
        frames.check_text("   ", 10)
    assert exc.value.code is ErrorCode.BAD_REQUEST


def test_commands_decode_into_typed_structs():
    decoder = msgspec.json.Decoder(frames.CustomerCommand)
    command = decoder.decode(b'{"type": "start_chat", "queue": "support", "ref": "1", "skills": ["vip"]}')
    assert isinstance(command, frames.StartChat) and command.language == "en" and command.skills == ["vip"]
    with pytest.raises(msgspec.ValidationError):
        decoder.decode(b'{"type": "start_chat"}')
    with pytest.raises(msgspec.ValidationError):
        decoder.decode(b'{"type": "message", "text": "x", "ref": "' + b"r" * 65 + b'"}')
    agent = msgspec.msgpack.Decoder(frames.AgentCommand).decode(
        msgspec.msgpack.encode({"type": "accept", "offer_id": "o1"})
    )
    assert agent == frames.Accept(offer_id="o1")


def test_queue_and_agent_configs_validate():
    queue = decode_config(b'{"name": "Support"}', QueueConfig)
    assert queue.offer_timeout_s == 20 and queue.wrap_up_timeout_s == 120 and queue.accept_mode == "manual"
    assert [c.code for c in queue.wrap_up_codes] == ["resolved", "not_resolved"]
    for bad in (
        b'{"name": ""}',
        b'{"name": "x", "bogus": 1}',
        b'{"name": "x", "offer_timeout_s": 0}',
        b'{"name": "x", "wrap_up_codes": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}',
        b"[]",
    ):
        with pytest.raises(SwitchboardError) as exc:
            decode_config(bad, QueueConfig)
        assert exc.value.code is ErrorCode.BAD_REQUEST
    agent = decode_config(b'{"display_name": "A", "languages": ["en"], "queues": ["support"]}', AgentConfig)
    assert agent.capacity == 3 and agent.role == "agent"
