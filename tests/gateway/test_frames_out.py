"""Every frame a real node sends decodes strictly into its struct in domain/frames/outgoing.py: the
frames the Lua library builds and publishes as well as those the gateway encodes, in JSON and msgpack.

One desk's day over real sockets: a supervisor watching, a chat offered, accepted, a conference, a
transfer, help requested, typing and read receipts, the end, CSAT and the wrap-up.
"""

from __future__ import annotations

from typing import Any

import msgspec

from support import Client
from switchboard.domain import frames as f


def decoded(client: Client, union: Any) -> set[str]:
    """The types of every frame `client` received, each decoded strictly (an unknown field fails)."""
    for frame in client.frames:
        try:
            msgspec.convert(frame, union)
        except msgspec.ValidationError as exc:
            raise AssertionError(f"{frame.get('type')}: {exc}\n{frame}") from None
    return {frame["type"] for frame in client.frames}


async def test_every_frame_sent_decodes_into_its_struct(sb):
    await sb.queue("billing")
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor", queues=["support", "billing"]))
    alice = await sb.available_agent("alice")
    bob_token = await sb.agent("bob", queues=["support", "billing"])
    bob, _ = await sb.agent_socket(bob_token, protocol="msgpack")
    await sue.expect("stats")

    customer, _ = await sb.customer(protocol="msgpack")
    started = await customer.ok(
        {
            "type": "start_chat",
            "queue": "support",
            "text": "Hello",
            "customer": {"name": "Carol", "email": "carol@example.com"},
        }
    )
    cid = started["conversation_id"]
    await customer.expect("chat.queued")
    owner, guest, guest_id = alice, bob, "bob"
    offered = await owner.expect("offer", conversation_id=cid)
    await owner.ok({"type": "accept", "offer_id": offered["offer_id"]})
    await owner.expect("conversation.assigned", conversation_id=cid)
    await customer.expect("chat.connected")
    await bob.ok({"type": "set_state", "state": "available"})

    await owner.ok({"type": "message", "conversation_id": cid, "text": "Hi Carol", "client_msg_id": "m1"})
    await customer.ok({"type": "message", "text": "My invoice", "client_msg_id": "c1"})
    await owner.ok({"type": "note", "conversation_id": cid, "text": "regular"})
    await customer.ok({"type": "typing", "active": True, "preview": "one mo"})
    await owner.ok({"type": "typing", "conversation_id": cid, "active": True})
    await customer.ok({"type": "read", "seq": 1})
    await owner.expect("read", conversation_id=cid)
    await customer.expect("typing")
    assert (await owner.request({"type": "wrap_up", "conversation_id": cid, "code": "nonsense"}))["type"] == "error"

    await owner.ok({"type": "conference", "conversation_id": cid, "agent": guest_id})
    conference = await guest.expect("offer", kind="conference")
    await guest.ok({"type": "accept", "offer_id": conference["offer_id"]})
    await customer.expect("chat.participant_joined")
    await owner.ok({"type": "request_help", "conversation_id": cid, "text": "tricky"})
    await sue.expect("help.requested")
    await sue.ok({"type": "monitor", "conversation_id": cid})
    await guest.ok({"type": "leave", "conversation_id": cid})
    await customer.expect("chat.participant_left")
    await owner.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    await customer.expect("chat.transferred")
    moved = await guest.expect("offer", kind="transfer", conversation_id=cid)
    await guest.ok({"type": "accept", "offer_id": moved["offer_id"]})
    owner = guest
    await owner.ok({"type": "verify_contact", "conversation_id": cid, "email": "carol@example.com"})
    await sue.expect("card", conversation_id=cid)

    await customer.ok({"type": "end_chat"})
    await customer.expect("csat.requested")
    await customer.ok({"type": "csat", "rating": 5, "comment": "great"})
    await owner.expect("chat.ended", conversation_id=cid)
    await owner.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "paid"})
    await owner.expect("conversation.closed", conversation_id=cid)
    await owner.ok({"type": "set_state", "state": "not_ready", "reason": "lunch"})

    # A returning visitor and a reconnecting agent get their welcome with the conversation in it.
    await sb.customer(
        visitor_token=(customer.frames[0])["visitor_token"], resume={"conversation_id": cid, "last_seq": 0}
    )
    await sb.agent_socket(bob_token, resume={cid: 0})

    customer_types: set[str] = set()
    agent_types: set[str] = set()
    for client in sb.clients:
        is_customer = client.frames and client.frames[0]["type"] == "welcome" and "visitor_id" in client.frames[0]
        if is_customer:
            customer_types |= decoded(client, f.CustomerFrame)
        else:
            agent_types |= decoded(client, f.AgentFrame)
    assert {
        "welcome",
        "ack",
        "chat.queued",
        "chat.connected",
        "message",
        "typing",
        "chat.participant_joined",
        "chat.participant_left",
        "chat.transferred",
        "chat.ended",
        "csat.requested",
    } <= customer_types
    assert {
        "welcome",
        "ack",
        "error",
        "offer",
        "conversation.assigned",
        "message",
        "note",
        "typing",
        "read",
        "conference.requested",
        "help.requested",
        "card",
        "stats",
        "chat.ended",
        "conversation.closed",
        "agent.state",
    } <= agent_types, agent_types


async def test_frames_of_offers_that_fail_and_of_moving_queues_decode_into_their_structs(sb):
    alice = await sb.available_agent("alice")
    bob, _ = await sb.agent_socket(await sb.agent("bob"))
    _, started = await sb.chat(text="first")
    cid = started["conversation_id"]
    offer = await alice.expect("offer", conversation_id=cid)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.expect("conversation.assigned", conversation_id=cid)

    # To an agent who declines: the sender keeps the chat and hears why.
    await bob.ok({"type": "set_state", "state": "available"})
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    transfer = await bob.expect("offer", kind="transfer")
    await bob.ok({"type": "decline", "offer_id": transfer["offer_id"]})
    await alice.expect("transfer.failed", conversation_id=cid)

    # Offered, then the customer leaves: the offer is revoked.
    await bob.ok({"type": "set_state", "state": "not_ready"})
    leaving, second = await sb.chat(text="second")
    await alice.expect("offer", conversation_id=second["conversation_id"])
    _, welcome = await sb.agent_socket(await sb.agent("alice"))  # another tab: the pending offer is in its welcome
    assert [o["conversation_id"] for o in welcome["offers"]] == [second["conversation_id"]]
    await leaving.ok({"type": "end_chat"})
    await alice.expect("offer.revoked")

    # Queued behind another who leaves: the position moves up.
    await alice.ok({"type": "set_state", "state": "not_ready"})
    waiting, _ = await sb.chat(text="third")
    behind, _ = await sb.chat(text="fourth")
    await behind.expect("chat.queued", position=2)
    await waiting.ok({"type": "end_chat"})
    await behind.expect("chat.position", position=1)

    for client in sb.clients:
        decoded(client, f.CustomerFrame if "visitor_id" in client.frames[0] else f.AgentFrame)


def test_frames_built_by_the_gateway_have_the_bytes_of_the_dicts_they_replace():
    """Absent stays absent, null stays null, empty stays empty (the order of fields may differ)."""
    encode = msgspec.json.encode
    cases = [
        (f.Ack(ref="r1", message_id="c:3", seq=3), {"type": "ack", "ref": "r1", "message_id": "c:3", "seq": 3}),
        (f.Ack(ref="r2"), {"type": "ack", "ref": "r2"}),
        (
            f.Error(code="conflict", message="start a chat first"),
            {"type": "error", "code": "conflict", "message": "start a chat first"},
        ),
        (
            f.Typing(conversation_id="c", from_=f.Sender(role="customer"), active=False),
            {"type": "typing", "conversation_id": "c", "from": {"role": "customer"}, "active": False},
        ),
        (
            f.CustomerWelcome(visitor_id="v", visitor_token="t", conversation=None),
            {"type": "welcome", "visitor_id": "v", "visitor_token": "t", "conversation": None},
        ),
        (f.AgentStateView(state="available", since=1), {"state": "available", "since": 1}),
        (
            f.Stats(queues=[], agents=[], window_s=900, ts=5),
            {"type": "stats", "queues": [], "agents": [], "window_s": 900, "ts": 5},
        ),
    ]
    for struct, old in cases:
        assert encode(struct) == encode(old)
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(struct)) == old


async def test_frames_of_a_redacted_message_decode_into_their_structs_live_and_replayed(sb):
    alice = await sb.available_agent("alice")
    customer, started = await sb.chat(text="hello")
    cid = started["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    seq = (await customer.ok({"type": "message", "text": "my card is 4111", "client_msg_id": "m1"}))["seq"]
    note = await alice.ok({"type": "note", "conversation_id": cid, "text": "card in chat", "client_msg_id": "n1"})
    for redacted in (seq, note["seq"]):
        await sb.admin("DELETE", f"/api/v1/conversations/{cid}/messages/{redacted}", expect=204)
    await customer.expect("message.redacted", seq=seq)
    await alice.expect("message.redacted", seq=note["seq"])
    # a reconnect replays the history, redacted entries included
    again, _ = await sb.agent_socket(await sb.agent("alice"), resume={cid: 0})
    replayed = await again.expect("message", seq=seq)
    assert "text" not in replayed and replayed["redacted"]["by"] == "admin"
    for client in (customer, alice, again):
        decoded(client, f.CustomerFrame if client is customer else f.AgentFrame)
