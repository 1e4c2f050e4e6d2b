"""The wire protocol over real sockets: subprotocols, handshake, frame errors, limits, resume, retries.

MessagePack frames are decoded and encoded by the `msgpack` package, independently of
the server's own codec. Nothing here sleeps for a fixed time: every wait has a deadline
and ends on a frame, an ack used as a barrier, or a close.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Sequence
from typing import Any

import msgpack
import pytest
import websockets

from support import Client

JSON_PROTOCOL = "switchboard.v1.json"
MSGPACK_PROTOCOL = "switchboard.v1.msgpack"
DEADLINE = 5.0
HISTORY_TYPES = {
    "message",
    "note",
    "chat.connected",
    "chat.ended",
    "chat.queued",
    "chat.transferred",
    "chat.participant_joined",
    "chat.participant_left",
}


# ---------------------------------------------------------------- helpers


WireClient = Client  # records for every frame whether it came as text or binary (`kinds`)


async def connect(sb: Any, path: str, subprotocols: list[str] | None) -> WireClient:
    url = sb.node.customer_url if path == "customer" else sb.node.agent_url
    ws = await websockets.connect(url, subprotocols=subprotocols, max_size=None, open_timeout=5)
    client = WireClient(ws, binary=ws.subprotocol == MSGPACK_PROTOCOL)
    sb.clients.append(client)
    return client


async def customer_hello(
    sb: Any, subprotocols: Sequence[str] | None = (JSON_PROTOCOL,), **hello: Any
) -> tuple[WireClient, dict[str, Any]]:
    client = await connect(sb, "customer", subprotocols)
    await client.send({"type": "hello", **hello})
    return client, await client.expect("welcome")


async def agent_hello(
    sb: Any, token: str, subprotocols: Sequence[str] | None = (JSON_PROTOCOL,), **hello: Any
) -> tuple[WireClient, dict[str, Any]]:
    client = await connect(sb, "agent", subprotocols)
    await client.send({"type": "hello", "token": token, **hello})
    return client, await client.expect("welcome")


async def close_code(client: Client, timeout: float = DEADLINE) -> int | None:
    """The close code the server sent (waits for the close, with a deadline)."""
    code, _ = await client.closed(timeout)
    return code


async def refused_with(
    sb: Any, path: str, first: str | bytes, subprotocols: Sequence[str] | None = (JSON_PROTOCOL,)
) -> int | None:
    """Opens a socket, sends `first` as its first frame, returns the close code."""
    client = await connect(sb, path, subprotocols)
    try:
        await client.send_raw(first)
    except websockets.ConnectionClosed:
        pass
    return await close_code(client)


async def connected_chat(sb: Any, text: str = "Hello", agent_id: str = "alice", **start: Any) -> dict[str, Any]:
    """A customer and an agent connected in one chat (JSON on both sides)."""
    token = await sb.agent(agent_id)
    agent, _ = await agent_hello(sb, token)
    await agent.ok({"type": "set_state", "state": "available"})
    customer, welcome = await customer_hello(sb)
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": text, **start})
    cid = started["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.expect("conversation.assigned", conversation_id=cid)
    await customer.expect("chat.connected")
    return {"customer": customer, "agent": agent, "cid": cid, "token": token, "welcome": welcome, "started": started}


def history_seqs(client: Client, cid: str, start: int = 0) -> list[int]:
    """Seqs of the history events (not acks, not read receipts) received from index `start`."""
    return [
        f["seq"]
        for f in client.frames[start:]
        if f.get("type") in HISTORY_TYPES and f.get("conversation_id") == cid and "seq" in f
    ]


def assert_one_answer_per_ref(client: Client) -> None:
    """The contract: every command with a ref gets exactly one ack or error."""
    counts: dict[Any, int] = {}
    for f in client.frames:
        if f.get("type") in ("ack", "error") and "ref" in f:
            counts[f["ref"]] = counts.get(f["ref"], 0) + 1
    assert {ref: n for ref, n in counts.items() if n != 1} == {}


def frames_after_welcome(client: Client) -> list[dict[str, Any]]:
    index = next(i for i, f in enumerate(client.frames) if f.get("type") == "welcome")
    return client.frames[index + 1 :]


# ---------------------------------------------------------------- subprotocols


async def full_chat(sb: Any, customer_protocol: str, agent_protocol: str) -> None:
    protocols = {"json": [JSON_PROTOCOL], "msgpack": [MSGPACK_PROTOCOL]}
    token = await sb.agent("alice")
    agent, agent_welcome = await agent_hello(sb, token, protocols[agent_protocol])
    assert agent.ws.subprotocol == protocols[agent_protocol][0]
    assert agent_welcome["agent"]["id"] == "alice"
    await agent.ok({"type": "set_state", "state": "available"})

    customer, welcome = await customer_hello(
        sb, protocols[customer_protocol], page={"url": "https://shop.example/", "title": "Shop"}
    )
    assert customer.ws.subprotocol == protocols[customer_protocol][0]
    assert isinstance(welcome["visitor_id"], str) and isinstance(welcome["visitor_token"], str)
    assert welcome["conversation"] is None

    started = await customer.ok(
        {"type": "start_chat", "queue": "support", "text": "Grüße 👋", "customer": {"name": "Zoë"}}
    )
    cid = started["conversation_id"]
    queued = await customer.expect("chat.queued")
    assert queued["position"] == 1

    offer = await agent.expect("offer", conversation_id=cid)
    assert [m["text"] for m in offer["thread"]] == ["Grüße 👋"]
    assert isinstance(offer["expires_at"], int) and isinstance(offer["offered_at"], int)
    assert offer["customer"] == {"name": "Zoë", "verified": False}
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await agent.expect("conversation.assigned", conversation_id=cid)
    assert assigned["card"]["status"] == "active"
    connected = await customer.expect("chat.connected")
    assert connected["agent"] == {"id": "alice", "display_name": "Alice"}

    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "Hi Zoë, ça va?"})
    assert isinstance(ack["seq"], int) and isinstance(ack["message_id"], str)
    got = await customer.expect("message", seq=ack["seq"])
    assert got["text"] == "Hi Zoë, ça va?" and got["from"]["role"] == "agent" and isinstance(got["ts"], int)

    await customer.ok({"type": "typing", "active": True})
    typing = await agent.expect("typing", conversation_id=cid)
    assert typing["active"] is True

    ack = await customer.ok({"type": "message", "text": "Très bien 😀", "client_msg_id": "m-1"})
    got = await agent.expect("message", seq=ack["seq"])
    assert got["text"] == "Très bien 😀" and got["from"]["role"] == "customer" and got["client_msg_id"] == "m-1"

    await agent.ok({"type": "end_session", "conversation_id": cid})
    assert (await customer.expect("chat.ended"))["reason"] == "agent_ended"
    await agent.expect("chat.ended", conversation_id=cid)
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "📦 sent"})
    closed = await agent.expect("conversation.closed", conversation_id=cid)
    assert closed["wrap_up"] == {"code": "resolved", "label": "Resolved", "notes": "📦 sent"}

    assert_one_answer_per_ref(customer)
    assert_one_answer_per_ref(agent)
    # Every frame each side received came in its own encoding.
    expected = {"json": "text", "msgpack": "binary"}
    assert set(customer.kinds) == {expected[customer_protocol]}, customer.kinds
    assert set(agent.kinds) == {expected[agent_protocol]}, agent.kinds


@pytest.mark.parametrize(
    "customer_protocol,agent_protocol",
    [("msgpack", "msgpack"), ("json", "msgpack"), ("msgpack", "json")],
    ids=["both msgpack", "customer json, agent msgpack", "customer msgpack, agent json"],
)
async def test_full_chat_over_msgpack(sb, customer_protocol, agent_protocol):
    await full_chat(sb, customer_protocol, agent_protocol)


@pytest.mark.parametrize(
    "offered,chosen,kind",
    [
        ([MSGPACK_PROTOCOL], MSGPACK_PROTOCOL, "binary"),
        ([JSON_PROTOCOL], JSON_PROTOCOL, "text"),
        ([MSGPACK_PROTOCOL, JSON_PROTOCOL], MSGPACK_PROTOCOL, "binary"),
        ([JSON_PROTOCOL, MSGPACK_PROTOCOL], JSON_PROTOCOL, "text"),
        (["chat.example.v9", MSGPACK_PROTOCOL, JSON_PROTOCOL], MSGPACK_PROTOCOL, "binary"),
        (["chat.example.v9"], None, "text"),
        (None, None, "text"),
    ],
    ids=["msgpack", "json", "msgpack first", "json first", "unknown then msgpack", "unknown only", "none"],
)
async def test_subprotocol_choice(sb, offered, chosen, kind):
    token = await sb.agent("alice")
    customer, welcome = await customer_hello(sb, offered)
    agent, agent_welcome = await agent_hello(sb, token, offered)
    for client in (customer, agent):
        assert client.ws.subprotocol == chosen
        answer = await client.request({"type": "bogus"})
        assert answer["type"] == "error" and answer["code"] == "bad_request"
        assert set(client.kinds) == {kind}, client.kinds
    assert welcome["visitor_id"] and agent_welcome["agent"]["id"] == "alice"


async def test_msgpack_frame_is_a_map_with_string_keys_and_integer_times(sb):
    client = await connect(sb, "customer", [MSGPACK_PROTOCOL])
    await client.send_raw(msgpack.packb({"type": "hello"}, use_bin_type=True))
    await client.expect("welcome")
    started = await client.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    message = await client.expect("message", seq=started["seq"])
    assert isinstance(message["ts"], int) and isinstance(message["seq"], int)
    assert all(isinstance(k, str) for k in message)
    assert set(client.kinds) == {"binary"}


# ---------------------------------------------------------------- handshake


INVALID_HELLOS = {
    "not json": "hello there",
    "json array": '[{"type": "hello"}]',
    "json string": '"hello"',
    "no type": "{}",
    "another command first": '{"type": "page_view", "url": "https://shop.example/"}',
    "unknown type": '{"type": "helo"}',
    "hello with a wrong field type": '{"type": "hello", "visitor_token": 5}',
    "hello with a bad resume": '{"type": "hello", "resume": {"conversation_id": "c", "last_seq": "x"}}',
}


async def test_first_frame_not_a_valid_hello_closes_4401_customer(sb):
    results = {}
    for name, first in INVALID_HELLOS.items():
        results[name] = await refused_with(sb, "customer", first)
    # Binary that is not MessagePack on a msgpack socket, and a JSON hello on a msgpack socket as bytes.
    results["msgpack garbage"] = await refused_with(sb, "customer", b"\xc1\xc1\xc1", [MSGPACK_PROTOCOL])
    results["msgpack list"] = await refused_with(sb, "customer", msgpack.packb(["hello"]), [MSGPACK_PROTOCOL])
    assert results == {name: 4401 for name in results}


async def test_first_frame_not_a_valid_hello_closes_4401_agent(sb):
    token = await sb.agent("alice")
    firsts = {
        "not json": "hello",
        "hello without token": '{"type": "hello"}',
        "token not a string": '{"type": "hello", "token": 7}',
        "another command first": json.dumps({"type": "set_state", "state": "available", "token": token}),
        "resume not an object": json.dumps({"type": "hello", "token": token, "resume": [1]}),
    }
    results = {name: await refused_with(sb, "agent", first) for name, first in firsts.items()}
    assert results == {name: 4401 for name in results}


async def test_forged_or_modified_visitor_token_closes_4401(sb, make_deployment):
    _, welcome = await customer_hello(sb)
    token = welcome["visitor_token"]
    _, other_welcome = await customer_hello(sb)
    other = other_welcome["visitor_token"]
    parts = token.split(".")
    # A node of another deployment (another secret) signs its own visitor tokens.
    foreign_deployment = await make_deployment(secret="another-secret")
    _, foreign_welcome = await customer_hello(foreign_deployment)

    def flip(text: str) -> str:
        return text[:-1] + ("A" if text[-1] != "A" else "B")

    forged = {
        "signature changed": ".".join([*parts[:-1], flip(parts[-1])]),
        "visitor id changed": ".".join([parts[0], other_welcome["visitor_id"], parts[2]]),
        "signature of another visitor": ".".join([parts[0], parts[1], other.split(".")[-1]]),
        "signature removed": ".".join(parts[:-1]) + ".",
        "truncated": token[: len(token) // 2],
        "garbage": "not-a-token",
        "empty": "",
        "extra part": token + ".x",
        "another deployment's token": foreign_welcome["visitor_token"],
        "non-ASCII signature": ".".join([parts[0], parts[1], "ünïcödé"]),
    }
    results = {}
    for name, bad in forged.items():
        results[name] = await refused_with(sb, "customer", json.dumps({"type": "hello", "visitor_token": bad}))
    assert results == {name: 4401 for name in forged}
    # The genuine token still works.
    _, again = await customer_hello(sb, visitor_token=token)
    assert again["visitor_id"] == welcome["visitor_id"]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_forged_agent_token_closes_4401(sb, make_deployment):
    token = await sb.agent("alice")
    await sb.agent("mallory")
    await sb.agent("bob")
    # A node with another secret sharing the same store issues a token for alice too.
    foreign_deployment = await make_deployment(secret="another-secret")
    foreign = (await foreign_deployment.admin("POST", "/api/v1/agents/alice/token"))["token"]

    forged: dict[str, str] = {
        "garbage": "not-a-token",
        "empty": "",
        "signature changed": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "another deployment's token": foreign,
        "truncated": token[: len(token) // 2],
        "non-ASCII signature": ".".join([*token.split(".")[:2], "sïgnätüre"]),
    }
    parts = token.split(".")
    if len(parts) == 3:
        # Re-encode the claims with another agent id (or a later expiry), keeping the signature.
        try:
            claims = json.loads(_b64decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            claims = None
        if isinstance(claims, list) and claims:
            forged["agent id changed"] = ".".join(
                [parts[0], _b64encode(json.dumps(["bob", *claims[1:]]).encode()), parts[2]]
            )
        mallory = (await sb.admin("POST", "/api/v1/agents/mallory/token"))["token"].split(".")
        forged["claims of mallory, signature of alice"] = ".".join([mallory[0], mallory[1], parts[2]])
    results = {
        name: await refused_with(sb, "agent", json.dumps({"type": "hello", "token": bad}))
        for name, bad in forged.items()
    }
    assert results == {name: 4401 for name in forged}
    # The genuine token still works.
    _, welcome = await agent_hello(sb, token)
    assert welcome["agent"]["id"] == "alice"


async def test_no_hello_within_the_deadline_closes_4401(make_deployment):
    sb = await make_deployment(hello_timeout_s=0.5)
    customer = await connect(sb, "customer", [JSON_PROTOCOL])
    agent = await connect(sb, "agent", [MSGPACK_PROTOCOL])
    started = time.monotonic()
    assert await close_code(customer) == 4401
    assert await close_code(agent) == 4401
    assert time.monotonic() - started < 4.0
    assert customer.frames == [] and agent.frames == []


async def test_hello_in_time_is_not_closed_by_the_hello_deadline(make_deployment):
    sb = await make_deployment(hello_timeout_s=0.5)
    await sb.queue("support")
    customer, _ = await customer_hello(sb)
    # A socket opened later that never says hello is closed: the deadline of the first has passed too.
    silent = await connect(sb, "customer", [JSON_PROTOCOL])
    assert await close_code(silent) == 4401
    await customer.ok({"type": "page_view", "url": "https://shop.example/"})
    assert not customer._closed.done()


# ---------------------------------------------------------------- bad frames after hello


async def expect_error(client: Client, code: str = "bad_request", ref: Any = None) -> dict[str, Any]:
    """The next `error` frame answering a frame sent with `ref` (None: a frame without a usable
    ref, whose error carries none). Acks of earlier commands (they carry their own refs) are skipped."""
    frame = await client.wait(lambda f: f.get("type") in ("error", "ack") and f.get("ref") in (None, ref))
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert isinstance(frame["message"], str)
    return frame


async def test_bad_frames_after_hello_get_bad_request_and_the_socket_stays_open(sb):
    customer, _ = await customer_hello(sb)
    # Frames that cannot carry a ref: the error comes without one.
    for raw in [
        '{"type": "message", "text": ',
        "not json at all",
        "[1, 2, 3]",
        '"message"',
        "42",
        "null",
        '{"text": "no type"}',
        '{"type": "page_view", "url": "https://shop.example/"} trailing',
    ]:
        await customer.send_raw(raw)
        error = await expect_error(customer)
        assert "ref" not in error, (raw, error)
    # Still open: a command succeeds (and ends the run of bad frames).
    await customer.ok({"type": "page_view", "url": "https://shop.example/1"})

    # Frames with a valid ref: the error echoes it.
    with_ref = {
        "unknown type": {"type": "teleport", "ref": "u1"},
        "type not a string": {"type": 5, "ref": "u2"},
        "missing field (page_view.url)": {"type": "page_view", "ref": "u3"},
        "missing field (start_chat.queue)": {"type": "start_chat", "ref": "u4"},
        "missing field (message.text)": {"type": "message", "ref": "u5"},
        "wrong type (message.text)": {"type": "message", "text": 42, "ref": "u6"},
        "wrong type (typing.active)": {"type": "typing", "active": "yes", "ref": "u7"},
        "wrong type (read.seq)": {"type": "read", "seq": "3", "ref": "u8"},
        "wrong type (start_chat.skills)": {"type": "start_chat", "queue": "support", "skills": "vip", "ref": "u9"},
        "wrong type (csat.rating)": {"type": "csat", "rating": "five", "ref": "u10"},
        "wrong type (page_view.url)": {"type": "page_view", "url": ["https://shop.example/"], "ref": "u11"},
        "ref of 64 characters": {"type": "page_view", "ref": "r" * 64},
    }
    for name, frame in with_ref.items():
        await customer.send(frame)
        error = await expect_error(customer, ref=frame["ref"])
        assert error.get("ref") == frame["ref"], (name, error)
    await customer.ok({"type": "page_view", "url": "https://shop.example/2"})

    # A ref that is itself invalid (too long, not a string) makes the frame invalid.
    for ref in ["x" * 65, "y" * 1000]:
        await customer.send({"type": "page_view", "url": "https://shop.example/", "ref": ref})
        await expect_error(customer, ref=ref)
    for ref in [7, ["r"], {"r": 1}]:
        await customer.send({"type": "page_view", "url": "https://shop.example/", "ref": ref})
        await expect_error(customer)

    # Still open: commands succeed.
    await customer.ok({"type": "page_view", "url": "https://shop.example/after"})
    await customer.ok({"type": "start_chat", "queue": "support", "text": "still here"})
    assert_one_answer_per_ref(customer)


async def test_bad_frames_on_the_agent_socket_get_bad_request_and_the_socket_stays_open(sb):
    token = await sb.agent("alice")
    agent, _ = await agent_hello(sb, token, [MSGPACK_PROTOCOL])
    await agent.send_raw(b"\xc1")
    assert "ref" not in await expect_error(agent)
    await agent.send_raw(msgpack.packb([1, 2]))
    await expect_error(agent)
    frames = {
        "unknown type": {"type": "teleport", "ref": "a1"},
        "missing conversation_id": {"type": "message", "text": "hi", "ref": "a2"},
        "wrong type (accept.offer_id)": {"type": "accept", "offer_id": 12, "ref": "a3"},
        "wrong type (typing.active)": {"type": "typing", "conversation_id": "c1", "active": 1.5, "ref": "a4"},
        "missing state": {"type": "set_state", "ref": "a5"},
    }
    for name, frame in frames.items():
        await agent.send(frame)
        error = await expect_error(agent, ref=frame["ref"])
        assert error.get("ref") == frame["ref"], (name, error)
    answer = await agent.ok({"type": "set_state", "state": "available"})
    assert answer["state"] == "available"
    assert set(agent.kinds) == {"binary"}
    assert_one_answer_per_ref(agent)


async def test_text_limits(sb):
    chat = await connected_chat(sb)
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]

    assert (await customer.request({"type": "message", "text": "x" * 4001}))["code"] == "too_long"
    assert (await customer.request({"type": "message", "text": ""}))["code"] == "bad_request"
    ack = await customer.ok({"type": "message", "text": "é" * 4000})
    assert (await agent.expect("message", seq=ack["seq"]))["text"] == "é" * 4000

    assert (await agent.request({"type": "message", "conversation_id": cid, "text": "y" * 1001}))["code"] == "too_long"
    assert (await agent.request({"type": "message", "conversation_id": cid, "text": ""}))["code"] == "bad_request"
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "y" * 1000})
    assert (await customer.expect("message", seq=ack["seq"]))["text"] == "y" * 1000

    # Refused messages were not stored.
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [len(m["text"]) for m in detail["messages"]] == [5, 4000, 1000]


async def test_start_chat_text_over_the_limit_is_too_long(sb):
    customer, _ = await customer_hello(sb)
    answer = await customer.request({"type": "start_chat", "queue": "support", "text": "z" * 4001})
    assert answer["type"] == "error" and answer["code"] == "too_long"
    await customer.ok({"type": "start_chat", "queue": "support", "text": "z" * 4000})


def json_frame_of_size(size: int) -> str:
    head = '{"type": "message", "text": "'
    tail = '"}'
    frame = head + "x" * (size - len(head) - len(tail)) + tail
    assert len(frame.encode()) == size
    return frame


async def test_frame_of_64_kib_is_accepted_and_a_larger_one_closes_1009(sb):
    customer, _ = await customer_hello(sb)
    await customer.ok({"type": "start_chat", "queue": "support"})
    await customer.send_raw(json_frame_of_size(64 * 1024))
    assert await expect_error(customer, "too_long")  # within the frame limit, over the text limit
    await customer.send_raw(json_frame_of_size(64 * 1024 + 1))
    assert await close_code(customer) == 1009


async def test_binary_frame_over_64_kib_closes_1009(sb):
    token = await sb.agent("alice")
    agent, _ = await agent_hello(sb, token, [MSGPACK_PROTOCOL])
    await agent.send_raw(msgpack.packb({"type": "message", "conversation_id": "c", "text": "x" * 70_000}))
    assert await close_code(agent) == 1009


async def test_repeated_bad_frames_close_1008(sb):
    customer, _ = await customer_hello(sb)
    # max_bad_frames (20) in a row are answered; a good command starts the count again.
    for _round in range(2):
        for _i in range(20):
            await customer.send_raw("{broken")
        for _i in range(20):
            await expect_error(customer)
        await customer.ok({"type": "page_view", "url": "https://shop.example/"})
    # One more than that in a row closes the socket.
    try:
        for _i in range(21):
            await customer.send_raw("{broken")
    except websockets.ConnectionClosed:
        pass
    assert await close_code(customer) == 1008
    assert len([f for f in customer.frames if f.get("type") == "error"]) >= 40


# ---------------------------------------------------------------- customer resume


async def test_customer_resume_replays_exactly_the_missed_history_in_order(sb):
    chat = await connected_chat(sb, text="first")
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    token = chat["welcome"]["visitor_token"]
    for i in range(3):
        ack = await agent.ok({"type": "message", "conversation_id": cid, "text": f"before {i}"})
    await customer.expect("message", seq=ack["seq"])
    last_seen = ack["seq"]
    await agent.ok({"type": "note", "conversation_id": cid, "text": "internal only"})
    await customer.close()

    missed = [await agent.ok({"type": "message", "conversation_id": cid, "text": f"missed {i}"}) for i in range(3)]

    resumed, welcome = await customer_hello(
        sb, visitor_token=token, resume={"conversation_id": cid, "last_seq": last_seen}
    )
    assert welcome["recovered"] is True
    assert welcome["conversation"]["conversation_id"] == cid
    # A command as a barrier: the replay comes before its ack.
    await resumed.ok({"type": "page_view", "url": "https://shop.example/"})
    replay = [f for f in frames_after_welcome(resumed) if f.get("type") != "ack"]
    assert [f["seq"] for f in replay] == [m["seq"] for m in missed]
    assert [f["text"] for f in replay] == ["missed 0", "missed 1", "missed 2"]
    assert all(f["type"] == "message" and f["conversation_id"] == cid for f in replay)
    assert all(f.get("type") != "note" for f in resumed.frames)

    # Live events continue after the replay.
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "live"})
    await resumed.expect("message", seq=ack["seq"])
    assert history_seqs(resumed, cid) == [m["seq"] for m in missed] + [ack["seq"]]


async def test_customer_resume_while_messages_keep_arriving_has_no_gap_and_no_double(sb):
    chat = await connected_chat(sb, text="first")
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    token = chat["welcome"]["visitor_token"]
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "seen"})
    await customer.expect("message", seq=ack["seq"])
    await customer.close()

    notes: set[int] = set()
    sent: list[int] = []
    stop = asyncio.Event()
    progress = asyncio.Event()

    async def keep_writing() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 7 == 0:
                notes.add((await agent.ok({"type": "note", "conversation_id": cid, "text": f"note {i}"}))["seq"])
            else:
                sent.append((await agent.ok({"type": "message", "conversation_id": cid, "text": f"m{i}"}))["seq"])
                progress.set()

    async def eventually_sent(count: int) -> None:
        """Waits (with a deadline) until the writer has stored `count` messages since the last clear."""

        async def enough() -> None:
            while len(sent) < count:
                progress.clear()
                await progress.wait()

        await asyncio.wait_for(enough(), DEADLINE)

    writer = asyncio.create_task(keep_writing())
    try:
        last_seq = ack["seq"]
        for round_ in range(6):
            await eventually_sent(2)
            client, welcome = await customer_hello(
                sb, visitor_token=token, resume={"conversation_id": cid, "last_seq": last_seq}
            )
            assert welcome["recovered"] is True, welcome
            await eventually_sent(3)
            target = sent[-1]
            await client.expect("message", seq=target, timeout=DEADLINE)
            seqs = history_seqs(client, cid)
            expected = [s for s in range(last_seq + 1, seqs[-1] + 1) if s not in notes]
            assert seqs == expected, f"round {round_}: resumed after {last_seq}, got {seqs}"
            # Next round resumes from the very last seq it holds (an up-to-date client).
            last_seq = seqs[-1]
            await client.close()
            sent.clear()
    finally:
        stop.set()
        await writer


async def test_customer_resume_beyond_the_stored_history_replays_everything_not_recovered(sb):
    chat = await connected_chat(sb, text="first")
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    token = chat["welcome"]["visitor_token"]
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "second"})
    note = await agent.ok({"type": "note", "conversation_id": cid, "text": "internal only"})
    ack2 = await customer.ok({"type": "message", "text": "third"})
    await customer.close()

    resumed, welcome = await customer_hello(
        sb, visitor_token=token, resume={"conversation_id": cid, "last_seq": ack2["seq"] + 100}
    )
    assert welcome["recovered"] is False
    await resumed.ok({"type": "page_view", "url": "https://shop.example/"})
    replay = [f for f in frames_after_welcome(resumed) if f.get("type") != "ack"]
    seqs = [f["seq"] for f in replay]
    # The whole stored history a customer may see, from seq 1, in order (the note left out).
    assert seqs == [s for s in range(1, ack2["seq"] + 1) if s != note["seq"]]
    assert [f["text"] for f in replay if f["type"] == "message"] == ["first", "second", "third"]
    assert any(f["type"] == "chat.connected" for f in replay)
    assert all(f["type"] != "note" for f in replay)
    assert ack["seq"] in seqs


async def test_customer_resume_with_last_seq_0_replays_everything_recovered(sb):
    chat = await connected_chat(sb, text="first")
    customer, cid = chat["customer"], chat["cid"]
    token = chat["welcome"]["visitor_token"]
    ack = await customer.ok({"type": "message", "text": "second"})
    resumed, welcome = await customer_hello(sb, visitor_token=token, resume={"conversation_id": cid, "last_seq": 0})
    assert welcome["recovered"] is True
    await resumed.ok({"type": "page_view", "url": "https://shop.example/"})
    seqs = history_seqs(resumed, cid)
    assert seqs == list(range(1, ack["seq"] + 1))


async def test_returning_visitor_sees_its_own_conversation_and_nobody_else_does(sb):
    chat = await connected_chat(sb, text="private matter", customer={"name": "Bob", "email": "bob@example.com"})
    cid = chat["cid"]
    welcome = chat["welcome"]
    returning, again = await customer_hello(sb, visitor_token=welcome["visitor_token"])
    assert again["visitor_id"] == welcome["visitor_id"]
    assert again["visitor_token"] == welcome["visitor_token"]
    assert again["conversation"]["conversation_id"] == cid
    assert again["conversation"]["customer"]["name"] == "Bob"
    assert again["conversation"]["status"] == "active"

    # A different visitor, even one asking to resume the conversation by id, gets nothing of it.
    stranger, other = await customer_hello(sb, resume={"conversation_id": cid, "last_seq": 0})
    assert other["visitor_id"] != welcome["visitor_id"]
    assert other["visitor_token"] != welcome["visitor_token"]
    assert other["conversation"] is None
    assert (await stranger.request({"type": "message", "text": "let me in"}))["type"] == "error"
    ack = await chat["agent"].ok({"type": "message", "conversation_id": cid, "text": "for Bob only"})
    await returning.expect("message", seq=ack["seq"])
    await stranger.ok({"type": "page_view", "url": "https://shop.example/"})
    assert all(f.get("conversation_id") != cid for f in stranger.frames), stranger.frames
    assert "private matter" not in json.dumps(stranger.frames) and "for Bob only" not in json.dumps(stranger.frames)

    # A second visitor with its own token also never sees it.
    _, third = await customer_hello(sb)
    stranger2, third_again = await customer_hello(
        sb, visitor_token=third["visitor_token"], resume={"conversation_id": cid, "last_seq": 0}
    )
    assert third_again["conversation"] is None
    await stranger2.ok({"type": "page_view", "url": "https://shop.example/"})
    assert all(f.get("conversation_id") != cid for f in stranger2.frames), stranger2.frames


# ---------------------------------------------------------------- agent resume


async def test_agent_resume_replays_missed_events_of_its_own_conversations_only(sb):
    mine = await connected_chat(sb, text="mine", agent_id="alice")
    cid = mine["cid"]
    # bob holds another conversation.
    bob_token = await sb.agent("bob")
    bob, _ = await agent_hello(sb, bob_token)
    await mine["agent"].ok({"type": "set_state", "state": "not_ready"})
    await bob.ok({"type": "set_state", "state": "available"})
    other_customer, _ = await customer_hello(sb)
    other = await other_customer.ok({"type": "start_chat", "queue": "support", "text": "not for alice"})
    foreign_cid = other["conversation_id"]
    offer = await bob.expect("offer", conversation_id=foreign_cid)
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await other_customer.expect("chat.connected")

    alice = mine["agent"]
    ack = await mine["customer"].ok({"type": "message", "text": "seen by alice"})
    await alice.expect("message", seq=ack["seq"])
    last_seen = ack["seq"]
    await alice.close()

    missed = [await mine["customer"].ok({"type": "message", "text": f"missed {i}"}) for i in range(2)]
    note = await bob.request({"type": "note", "conversation_id": cid, "text": "bob cannot write here"})
    assert note["type"] == "error"
    await bob.ok({"type": "note", "conversation_id": foreign_cid, "text": "bob's note"})
    await other_customer.ok({"type": "message", "text": "foreign message"})

    resumed, welcome = await agent_hello(sb, mine["token"], resume={cid: last_seen, foreign_cid: 0})
    assert [c["conversation_id"] for c in welcome["conversations"]] == [cid]
    await resumed.ok({"type": "set_state", "state": "not_ready"})
    replay = [f for f in frames_after_welcome(resumed) if f.get("conversation_id") in (cid, foreign_cid) and "seq" in f]
    assert [f["seq"] for f in replay] == [m["seq"] for m in missed]
    assert [f["text"] for f in replay] == ["missed 0", "missed 1"]
    assert all(f["conversation_id"] == cid for f in replay)
    assert all(f.get("conversation_id") != foreign_cid for f in resumed.frames)
    assert "foreign message" not in json.dumps(resumed.frames) and "bob's note" not in json.dumps(resumed.frames)


async def test_agent_resume_includes_notes_and_then_live_events(sb):
    chat = await connected_chat(sb, text="hello")
    cid, alice = chat["cid"], chat["agent"]
    ack = await chat["customer"].ok({"type": "message", "text": "seen"})
    await alice.expect("message", seq=ack["seq"])
    note = await alice.ok({"type": "note", "conversation_id": cid, "text": "vip customer"})
    await alice.close()
    missed = await chat["customer"].ok({"type": "message", "text": "missed"})

    resumed, _ = await agent_hello(sb, chat["token"], resume={cid: ack["seq"]})
    await resumed.ok({"type": "set_state", "state": "not_ready"})
    assert history_seqs(resumed, cid) == [note["seq"], missed["seq"]]
    replay = [f for f in frames_after_welcome(resumed) if f.get("conversation_id") == cid]
    assert [(f["type"], f["text"]) for f in replay] == [("note", "vip customer"), ("message", "missed")]

    live = await chat["customer"].ok({"type": "message", "text": "live"})
    await resumed.expect("message", seq=live["seq"])
    assert history_seqs(resumed, cid) == [note["seq"], missed["seq"], live["seq"]]


# ---------------------------------------------------------------- client_msg_id


async def test_customer_message_retried_with_the_same_client_msg_id_is_stored_once(sb):
    chat = await connected_chat(sb)
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    frame = {"type": "message", "text": "Did my payment go through?", "client_msg_id": "cm-42"}
    first = await customer.ok(frame)
    second = await customer.ok(frame)
    third = await customer.ok(frame)
    assert first["seq"] == second["seq"] == third["seq"]
    assert first["message_id"] == second["message_id"] == third["message_id"]
    # A new id is a new message.
    other = await customer.ok({**frame, "client_msg_id": "cm-43"})
    assert other["seq"] > first["seq"]
    await agent.expect("message", seq=other["seq"])
    assert [f["seq"] for f in agent.received("message") if f.get("client_msg_id") == "cm-42"] == [first["seq"]]
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("Did my payment go through?") == 2
    assert [m["client_msg_id"] for m in detail["messages"] if m.get("client_msg_id")] == ["cm-42", "cm-43"]


async def test_agent_message_retried_with_the_same_client_msg_id_is_stored_once(sb):
    chat = await connected_chat(sb)
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    frame = {"type": "message", "conversation_id": cid, "text": "Yes it did", "client_msg_id": "am-1"}
    first = await agent.ok(frame)
    second = await agent.ok(frame)
    third = await agent.ok(frame)
    assert first["seq"] == second["seq"] == third["seq"]
    assert first["message_id"] == second["message_id"] == third["message_id"]
    barrier_ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "anything else?"})
    await customer.expect("message", seq=barrier_ack["seq"])
    assert [f["seq"] for f in customer.received("message") if f.get("text") == "Yes it did"] == [first["seq"]]
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("Yes it did") == 1


async def test_concurrent_retries_of_one_client_msg_id_store_it_once(sb):
    chat = await connected_chat(sb)
    customer, cid = chat["customer"], chat["cid"]
    frame = {"type": "message", "text": "double click", "client_msg_id": "dc-1"}
    for _ in range(5):
        await customer.send({**frame, "ref": f"dc-{_}"})
    acks = [await customer.wait(lambda f, r=f"dc-{i}": f.get("ref") == r, consume=False) for i in range(5)]
    assert all(a["type"] == "ack" for a in acks), acks
    assert len({a["seq"] for a in acks}) == 1
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("double click") == 1


async def test_customer_retry_after_the_session_ended_is_not_stored_again(sb):
    """A retry whose first send was stored (its ack lost) stays one message, even when the
    agent ended the session in between: the retry is acknowledged with the stored seq and
    does not open a new session."""
    chat = await connected_chat(sb)
    customer, agent, cid = chat["customer"], chat["agent"], chat["cid"]
    frame = {"type": "message", "text": "Is the refund done?", "client_msg_id": "late-1"}
    first = await customer.ok(frame)
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await customer.expect("chat.ended")
    retry = await customer.ok(frame)
    assert retry["seq"] == first["seq"] and retry["message_id"] == first["message_id"]
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("Is the refund done?") == 1
    assert len(detail["sessions"]) == 1
