"""Fuzzing a running node over real sockets, in both subprotocols.

Hypothesis generates frames (arbitrary JSON and MessagePack values, wrong types,
huge numbers, deep nesting, bad UTF-8, and every command of both sockets with
every field left out, mistyped or replaced) and sends them to a real
`python -m switchboard serve` process. After every example the socket must
either still serve (a plain command sent after the fuzzed frames is answered) or
have been closed with a documented code; every error frame carries a documented
code and no traceback; the process never logs one. At the end the node still
serves a whole chat.

A raw-frame probe speaks WebSocket by hand (as the Autobahn suite would) and
checks the close codes of the WebSocket layer: 1002, 1007 and 1009.

`make test` runs a bounded number of examples; SWITCHBOARD_FUZZ_EXAMPLES=5000
runs longer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile import LoggedServer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from conftest import ADMIN_TOKEN
from switchboard.domain.errors import ErrorCode
from switchboard.domain.frames import AgentCommand, CustomerCommand

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "150"))
PROTOCOLS = {"json": "switchboard.v1.json", "msgpack": "switchboard.v1.msgpack"}
ERROR_CODES = {code.value for code in ErrorCode}
# Close codes a socket may end with once hello is through (docs/protocol.md):
# repeated protocol violations or too many frames, too big, and the WebSocket
# layer's own protocol and encoding errors.
CLOSE_AFTER_HELLO = {1002, 1007, 1008, 1009}
CLOSE_AT_HELLO = CLOSE_AFTER_HELLO | {4401}
LEAK = re.compile(r"Traceback|File \"|line \d+, in |Error\(|Exception")
RECEIVE_TIMEOUT = 5.0


# ---------------------------------------------------------------- the node under test


@pytest.fixture(scope="module")
def node(redis_server, postgres_server, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """One node process for the whole module, on its own key prefix; frames are not
    rate limited here (so they reach the handlers) and handshakes are not counted."""
    server = LoggedServer(
        tmp_path_factory.mktemp("fuzz"),
        redis_server.url,
        postgres_server.url,
        log_level="info",
        env={
            "SWITCHBOARD_KEY_PREFIX": "fuzz",
            "SWITCHBOARD_FRAMES_PER_S": "100000",
            "SWITCHBOARD_FRAME_BURST": "100000",
            "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN": "0",
            "SWITCHBOARD_SOCKETS_PER_IP": "0",
            "SWITCHBOARD_HELLO_TIMEOUT_S": "3",
        },
    )
    asyncio.run(server.start())
    try:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
            assert (
                http.put("/api/v1/queues/support", json={"name": "Support", "accept_mode": "auto"}).status_code == 200
            )
            assert http.put(
                "/api/v1/agents/alice",
                json={"display_name": "Alice", "languages": ["en"], "queues": ["support"], "capacity": 50},
            ).status_code in (200, 201)
            token = http.post("/api/v1/agents/alice/token").json()["token"]
        yield {"server": server, "token": token}
    finally:
        code = server.stop()
        log = server.output()
    assert code == 0, log[-3000:]
    assert not LEAK.search(log), log[-5000:]


def open_socket(server: LoggedServer, side: str, protocol: str) -> ClientConnection:
    return connect(server.ws(side), subprotocols=[PROTOCOLS[protocol]], open_timeout=5, max_size=None, close_timeout=2)


def encode(frame: Any, protocol: str) -> str | bytes:
    return msgpack.packb(frame, use_bin_type=True) if protocol == "msgpack" else json.dumps(frame)


def decode(raw: str | bytes, protocol: str) -> dict[str, Any]:
    return msgpack.unpackb(raw, raw=False) if isinstance(raw, bytes) and protocol == "msgpack" else json.loads(raw)


def check_frame(frame: dict[str, Any]) -> None:
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
    if frame["type"] == "error":
        assert frame["code"] in ERROR_CODES, frame
        assert not LEAK.search(frame["message"]), frame


def answer_to(ws: ClientConnection, ref: str, protocol: str) -> dict[str, Any] | None:
    """Reads until the answer to `ref`; None when the socket closed first (its code is
    then checked by the caller). Every frame read on the way is checked."""
    while True:
        try:
            raw = ws.recv(timeout=RECEIVE_TIMEOUT)
        except ConnectionClosed:
            return None
        frame = decode(raw, protocol)
        check_frame(frame)
        if frame.get("ref") == ref and frame["type"] in ("ack", "error"):
            return frame


def close_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            ws.recv(timeout=RECEIVE_TIMEOUT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


# ---------------------------------------------------------------- strategies

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | st.sampled_from(["", " ", "\u202e", "<script>alert(1)</script>", "\x00", "a" * 5000, "support", "alice", "hello"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Good values for fields, so that mutated commands often get past the schema.
PLAUSIBLE = st.sampled_from(
    [
        "support",
        "alice",
        "en",
        "webchat",
        "available",
        "resolved",
        "https://shop.example/",
        "hi there",
        "c_AAAAAAAAAAAAAAAAAAAAAA",
        "o1-0",
        0,
        1,
        5,
        True,
        False,
        [],
        {},
        ["en"],
    ]
)


def fields_of(command: type) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(command)]


def mutated_command(union: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Any command of the socket, each field absent, plausible or arbitrary, maybe an unknown one."""
    commands = [c for c in union.__args__ if c.__struct_config__.tag != "hello"]

    def build(command: type) -> st.SearchStrategy[dict[str, Any]]:
        field_values = {
            name: st.one_of(st.just(None), PLAUSIBLE, VALUES) for name in fields_of(command) if name != "ref"
        }
        return (
            st.fixed_dictionaries({}, optional=field_values)
            .map(lambda body: {k: v for k, v in body.items() if v is not None})
            .flatmap(
                lambda body: st.fixed_dictionaries(
                    {"type": st.just(command.__struct_config__.tag), **{k: st.just(v) for k, v in body.items()}},
                    optional={"ref": st.one_of(st.text(max_size=70), VALUES), "extra": VALUES},
                )
            )
        )

    return st.sampled_from(commands).flatmap(build)


def raw_frames(protocol: str) -> st.SearchStrategy[str | bytes]:
    """Frames no encoder would write: broken syntax, deep nesting, huge numbers, bad UTF-8."""
    depth = st.integers(min_value=1, max_value=5000)
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        depth.map(lambda n: "[" * n + "]" * n),
        depth.map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.integers(min_value=10**19, max_value=10**400).map(lambda n: f'{{"type": "read", "seq": {n}}}'),
        st.sampled_from(
            [
                '{"type": "message", "text": NaN}',
                '{"type": "message", "text": "\\ud800"}',
                '{"type": 1e999}',
                '{"type": "message", "text": "x", "type": "end_chat"}',
                "null",
                "[]",
                '"hello"',
                "{}",
                b'{"type": "message", "text": "\xff\xfe"}',
                b"\xc1",
                b"\xdd\xff\xff\xff\xff",  # msgpack: reserved, huge map
                b"\x91" * 2000 + b"\xc0",  # msgpack: deep nesting
            ]
        ),
        VALUES.map(lambda v: encode(v, protocol)),
    )


def frames(union: Any, protocol: str) -> st.SearchStrategy[list[str | bytes]]:
    one = st.one_of(mutated_command(union).map(lambda f: encode(f, protocol)), raw_frames(protocol))
    return st.lists(one, min_size=1, max_size=4)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run_example(node: dict[str, Any], side: str, protocol: str, hello: dict[str, Any], sent: list[str | bytes]) -> None:
    sentinel = (
        {"type": "page_view", "url": "https://shop.example/"}
        if side == "customer"
        else {"type": "set_state", "state": "available"}
    )
    with open_socket(node["server"], side, protocol) as ws:
        ws.send(encode(hello, protocol))
        welcome = decode(ws.recv(timeout=RECEIVE_TIMEOUT), protocol)
        assert welcome["type"] == "welcome", welcome
        try:
            for frame in sent:
                ws.send(frame)
            ws.send(encode({**sentinel, "ref": "sentinel"}, protocol))
        except ConnectionClosed:
            pass
        answer = answer_to(ws, "sentinel", protocol)
        if answer is None:
            assert close_code(ws) in CLOSE_AFTER_HELLO or ws.close_code in CLOSE_AFTER_HELLO, (ws.close_code, sent)
        else:
            assert answer["type"] == "ack", (answer, sent)


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("protocol", ["json", "msgpack"])
def test_customer_socket_survives_arbitrary_frames(node, protocol):
    @FUZZ
    @given(sent=frames(CustomerCommand, protocol))
    def example(sent: list[str | bytes]) -> None:
        run_example(node, "customer", protocol, {"type": "hello"}, sent)

    example()


@pytest.mark.parametrize("protocol", ["json", "msgpack"])
def test_agent_socket_survives_arbitrary_frames(node, protocol):
    # A chat for alice, so that commands on a real conversation get past the first checks.
    with open_socket(node["server"], "customer", "json") as customer:
        customer.send(json.dumps({"type": "hello"}))
        customer.recv(timeout=RECEIVE_TIMEOUT)

        @FUZZ
        @given(sent=frames(AgentCommand, protocol))
        def example(sent: list[str | bytes]) -> None:
            run_example(node, "agent", protocol, {"type": "hello", "token": node["token"]}, sent)

        example()


@pytest.mark.parametrize("side", ["customer", "agent"])
def test_a_fuzzed_hello_is_welcomed_or_closed_4401(node, side):
    union = CustomerCommand if side == "customer" else AgentCommand
    hello_type = next(c for c in union.__args__ if c.__struct_config__.tag == "hello")
    plausible = {name: st.one_of(st.just(None), PLAUSIBLE, VALUES) for name in fields_of(hello_type) if name != "ref"}
    if side == "agent":
        plausible["token"] = st.one_of(st.just(node["token"]), st.just(node["token"] + "x"), VALUES)
    hellos = st.fixed_dictionaries({"type": st.sampled_from(["hello", "hello", "message", 1])}, optional=plausible)
    first = st.one_of(hellos.map(lambda h: {k: v for k, v in h.items() if v is not None}), VALUES)

    @FUZZ
    @given(hello=first, protocol=st.sampled_from(["json", "msgpack"]))
    def example(hello: Any, protocol: str) -> None:
        with open_socket(node["server"], side, protocol) as ws:
            ws.send(encode(hello, protocol))
            try:
                frame = decode(ws.recv(timeout=RECEIVE_TIMEOUT), protocol)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code in CLOSE_AT_HELLO, (closed, hello)
                return
            assert frame["type"] == "welcome", (frame, hello)

    example()


def test_the_node_still_serves_a_whole_chat(node):
    """Runs after the fuzzing (file order): a normal chat from start to wrap-up."""
    with (
        open_socket(node["server"], "agent", "msgpack") as agent,
        open_socket(node["server"], "customer", "json") as customer,
    ):
        agent.send(encode({"type": "hello", "token": node["token"]}, "msgpack"))
        assert decode(agent.recv(timeout=RECEIVE_TIMEOUT), "msgpack")["type"] == "welcome"
        agent.send(encode({"type": "set_state", "state": "available", "ref": "s"}, "msgpack"))
        assert answer_to(agent, "s", "msgpack")["type"] == "ack"
        customer.send(json.dumps({"type": "hello"}))
        assert json.loads(customer.recv(timeout=RECEIVE_TIMEOUT))["type"] == "welcome"
        customer.send(json.dumps({"type": "end_chat", "ref": "e"}))  # a chat left open by the fuzzing, if any
        answer_to(customer, "e", "json")
        customer.send(json.dumps({"type": "start_chat", "queue": "support", "text": "after the storm", "ref": "c"}))
        started = answer_to(customer, "c", "json")
        assert started["type"] == "ack", started
        cid = started["conversation_id"]
        while True:
            frame = decode(agent.recv(timeout=RECEIVE_TIMEOUT), "msgpack")
            if frame["type"] == "conversation.assigned" and frame["card"]["conversation_id"] == cid:
                break
        agent.send(encode({"type": "message", "conversation_id": cid, "text": "calm again", "ref": "m"}, "msgpack"))
        assert answer_to(agent, "m", "msgpack")["type"] == "ack"
        while True:
            frame = json.loads(customer.recv(timeout=RECEIVE_TIMEOUT))
            if frame["type"] == "message" and frame["text"] == "calm again":
                break
        agent.send(encode({"type": "end_session", "conversation_id": cid, "ref": "x"}, "msgpack"))
        assert answer_to(agent, "x", "msgpack")["type"] == "ack"
        agent.send(encode({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "ref": "w"}, "msgpack"))
        assert answer_to(agent, "w", "msgpack")["type"] == "ack"


# ---------------------------------------------------------------- the WebSocket layer, by hand


class RawSocket:
    """A WebSocket client written out by hand, to send frames no library would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, path: str = "/ws/customer") -> RawSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Protocol: switchboard.v1.json\r\n\r\n"
            ).encode()
        )
        status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status.startswith(b"HTTP/1.1 101"), status
        return cls(reader, writer)

    def send(
        self, opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, mask: bool = True, length: int | None = None
    ) -> None:
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload) if length is None else length
        if n < 126:
            header = struct.pack("!BB", first, (0x80 if mask else 0) | n)
        elif n < 65536:
            header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
        else:
            header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.writer.write(header + payload)

    async def close_code(self) -> int | None:
        """Reads frames until the server's close frame; its code."""
        while True:
            head = await asyncio.wait_for(self.reader.readexactly(2), 5)
            opcode, n = head[0] & 0x0F, head[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(n)
            if opcode == 0x8:
                self.writer.close()
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


PROBES = {
    "reserved opcode": (1002, lambda s: s.send(0x3, b"x")),
    "reserved bits": (1002, lambda s: s.send(0x1, b'{"type": "hello"}', rsv=0b100)),
    "unmasked frame": (1002, lambda s: s.send(0x1, b'{"type": "hello"}', mask=False)),
    "fragmented ping": (1002, lambda s: s.send(0x9, b"x", fin=False)),
    "ping over 125 bytes": (1002, lambda s: s.send(0x9, b"x" * 126)),
    "continuation without start": (1002, lambda s: s.send(0x0, b"x")),
    "invalid UTF-8 text": (1007, lambda s: s.send(0x1, b'{"type": "hello", "x": "\xff\xfe"}')),
    "invalid UTF-8 close reason": (1007, lambda s: s.send(0x8, struct.pack("!H", 1000) + b"\xff")),
    # Announced lengths: the server refuses on the header, before reading a payload that
    # would be left unread (and the connection reset under the close frame).
    "frame over the limit": (1009, lambda s: s.send(0x1, b"", length=64 * 1024 + 1)),
    "fragments over the limit": (
        1009,
        lambda s: (s.send(0x1, b"x" * 40000, fin=False), s.send(0x0, b"", length=30000)),
    ),
    "announced length over the limit": (1009, lambda s: s.send(0x2, b"", length=2**40)),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
@pytest.mark.parametrize("when", ["before hello", "after hello"])
async def test_the_websocket_layer_closes_with_the_right_code(node, probe, when):
    expected, send = PROBES[probe]
    sock = await RawSocket.open(node["server"].port)
    if when == "after hello":
        sock.send(0x1, b'{"type": "hello"}')
        head = await asyncio.wait_for(sock.reader.readexactly(2), 5)  # the welcome
        await sock.reader.readexactly(
            head[1] & 0x7F if head[1] & 0x7F < 126 else struct.unpack("!H", await sock.reader.readexactly(2))[0]
        )
    send(sock)
    await sock.writer.drain()
    assert await sock.close_code() == expected
