"""Supervisors who step in, on their agent socket: whisper, barge_in, force_state and
reassign. Each command's effect on every party's socket, the refusals, the audit trail
and the lifecycle events. Real sockets, real Redis, real PostgreSQL."""

from __future__ import annotations

from typing import Any

from test_desk import connected, events_of, joined

from support import Client, eventually


async def supervisor(sb: Any, name: str = "sue", queues: list[str] | None = None) -> Client:
    socket, _ = await sb.agent_socket(await sb.agent(name, role="supervisor", queues=queues or ["support"]))
    return socket


async def audited(sb: Any, actor: str, count: int) -> list[tuple[str, str]]:
    """The last `count` audit entries of `actor`, oldest first, once they are written."""

    async def entries() -> list[Any]:
        response = await sb.http.get("/api/v1/audit", params={"actor": actor})
        found = response.json()["entries"]
        return found if len(found) >= count else []

    return [(e["action"], e["target"]) for e in reversed((await eventually(entries))[:count])]


# ---------------------------------------------------------------- whisper


async def test_a_whisper_reaches_the_agents_and_supervisors_never_the_customer(sb):
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    sam = await supervisor(sb, "sam")
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "monitor", "conversation_id": cid})
    await sam.ok({"type": "monitor", "conversation_id": cid})

    ack = await sue.ok({"type": "whisper", "conversation_id": cid, "text": "offer the discount"})
    whisper = await alice.expect("note", text="offer the discount")
    assert whisper["from"] == {"role": "supervisor", "id": "sue", "display_name": "Sue"}
    assert whisper["seq"] == ack["seq"]
    await sam.expect("note", text="offer the discount")
    await sue.expect("note", text="offer the discount")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "good news"})
    await customer.expect("message", text="good news")
    assert customer.received("note") == [] and "discount" not in str(customer.frames)

    # In the history as an internal note of the supervisor; replayed to an agent, never to the customer.
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [(n["from"]["role"], n["text"]) for n in detail["notes"]] == [("supervisor", "offer the discount")]
    alice_again, _ = await sb.agent_socket(await sb.agent("alice"), resume={cid: 0})
    assert (await alice_again.expect("note"))["from"]["role"] == "supervisor"
    again, _ = await sb.customer(
        visitor_token=customer.frames[0]["visitor_token"], resume={"conversation_id": cid, "last_seq": 0}
    )
    await again.expect("message", text="good news")
    assert again.received("note") == []
    assert await audited(sb, "agent:sue", 2) == [("conversation.monitor", cid), ("conversation.whisper", cid)]


async def test_whispers_are_refused_to_agents_to_non_monitors_and_after_the_end(sb):
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)
    whisper = {"type": "whisper", "conversation_id": cid, "text": "psst"}
    assert (await alice.request(whisper))["code"] == "forbidden"
    assert (await sue.request(whisper))["code"] == "forbidden"  # monitor it first
    await sue.ok({"type": "monitor", "conversation_id": cid})
    assert (await sue.request({**whisper, "conversation_id": "c-missing"}))["code"] == "not_found"
    assert (await sue.request({**whisper, "text": "   "}))["code"] == "bad_request"
    assert (await sue.request({**whisper, "text": "x" * 4001}))["code"] == "too_long"
    await customer.ok({"type": "end_chat"})
    await sue.expect("chat.ended")
    assert (await sue.request(whisper))["code"] == "conflict"
    assert alice.received("note") == []


# ---------------------------------------------------------------- barge_in


async def test_a_supervisor_barges_in_writes_to_the_customer_and_leaves(sb):
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)

    await sue.ok({"type": "barge_in", "conversation_id": cid})  # monitors it on the way
    joined = await customer.expect("chat.participant_joined")
    assert joined["agent"] == {"id": "sue", "display_name": "Sue"}
    await customer.expect("message", text="Sue (supervisor) joined the conversation")
    await alice.expect("chat.participant_joined")
    assert (await sue.request({"type": "barge_in", "conversation_id": cid}))["code"] == "conflict"

    await sue.ok({"type": "message", "conversation_id": cid, "text": "I am the team lead"})
    said = await customer.expect("message", text="I am the team lead")
    assert said["from"] == {"role": "agent", "id": "sue", "display_name": "Sue"}
    await alice.expect("message", text="I am the team lead")
    await customer.ok({"type": "message", "text": "thank you"})
    await sue.expect("message", text="thank you")

    await sue.ok({"type": "leave", "conversation_id": cid})
    left = await customer.expect("chat.participant_left")
    assert left["agent"]["id"] == "sue"
    await customer.expect("message", text="Sue (supervisor) left the conversation")
    refused = await sue.request({"type": "message", "conversation_id": cid, "text": "still here?"})
    assert refused["code"] == "forbidden"
    # alice still has the chat
    await alice.ok({"type": "message", "conversation_id": cid, "text": "back to me"})
    await customer.expect("message", text="back to me")

    started = await eventually(lambda: events_of(sb, "session.barged_in"))
    ended = await eventually(lambda: events_of(sb, "session.barge_ended"))
    assert [(e["conversation_id"], e["agent"], e["queue"]) for e in started] == [(cid, "sue", "support")]
    assert [(e["agent"], e["reason"]) for e in ended] == [("sue", "left")]
    assert await audited(sb, "agent:sue", 1) == [("conversation.barge_in", cid)]


async def test_a_barged_in_supervisor_leaves_with_the_end_of_the_session(sb):
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "barge_in", "conversation_id": cid})
    await customer.expect("chat.participant_joined")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await sue.expect("chat.ended")
    assert (await sue.request({"type": "message", "conversation_id": cid, "text": "late"}))["code"] == "forbidden"
    assert (await sue.request({"type": "barge_in", "conversation_id": cid}))["code"] == "conflict"
    # no wrap-up for the supervisor: alice's is the only one
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status"] == "closed"


async def test_a_barged_in_supervisor_reconnects_still_in_the_conversation(sb):
    alice = await sb.available_agent("alice")
    token = await sb.agent("sue", role="supervisor")
    sue, _ = await sb.agent_socket(token)
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "barge_in", "conversation_id": cid})
    await sue.close()
    await customer.ok({"type": "message", "text": "are you still there?"})
    sue, welcome = await sb.agent_socket(token, resume={cid: 0})
    assert welcome["monitoring"] == [cid]
    await sue.expect("chat.participant_joined")
    await sue.expect("message", text="are you still there?")
    await sue.ok({"type": "message", "conversation_id": cid, "text": "yes"})
    await customer.expect("message", text="yes")


async def test_unmonitoring_leaves_a_conversation_barged_into(sb):
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "barge_in", "conversation_id": cid})
    await sue.ok({"type": "unmonitor", "conversation_id": cid})
    await customer.expect("message", text="Sue (supervisor) left the conversation")
    assert (await sue.request({"type": "message", "conversation_id": cid, "text": "x"}))["code"] == "forbidden"


async def test_barge_in_is_refused_to_agents_other_supervisors_and_conversations_not_live(sb):
    await sb.queue("other")
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob", queues=["other"])
    otto = await supervisor(sb, "otto", queues=["other"])
    _, cid = await connected(sb, alice)
    assert (await bob.request({"type": "barge_in", "conversation_id": cid}))["code"] == "forbidden"
    assert (await otto.request({"type": "barge_in", "conversation_id": cid}))["code"] == "forbidden"
    assert (await otto.request({"type": "barge_in", "conversation_id": "c-missing"}))["code"] == "not_found"
    waiting, started = await sb.chat("other")
    await bob.expect("offer", conversation_id=started["conversation_id"])
    refused = await otto.request({"type": "barge_in", "conversation_id": started["conversation_id"]})
    assert refused["code"] == "conflict"  # offered to bob, nobody connected yet
    assert waiting.received("chat.participant_joined") == []


# ---------------------------------------------------------------- reassign


async def test_reassign_to_an_agent_moves_the_chat_at_once(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice, text="my order is late")

    ack = await sue.ok({"type": "reassign", "conversation_id": cid, "agent": "bob"})
    assert ack["kind"] == "agent" and ack["agent"] == "bob"
    assigned = await bob.expect("conversation.assigned", conversation_id=cid)
    assert "my order is late" in [m.get("text") for m in assigned["messages"]]
    moved = await alice.expect("chat.transferred")
    assert moved["from_agent"]["id"] == "alice" and moved["agent"]["id"] == "bob" and moved["by"]["id"] == "sue"
    await customer.expect("chat.connected", agent={"id": "bob", "display_name": "Bob"})
    await bob.ok({"type": "message", "conversation_id": cid, "text": "Bob here"})
    await customer.expect("message", text="Bob here")
    refused = await alice.request({"type": "message", "conversation_id": cid, "text": "me?"})
    assert refused["code"] == "forbidden"
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [a["id"] for a in detail["card"]["agents"]] == ["bob"]

    events = await eventually(lambda: events_of(sb, "session.transferred"))
    assert [(e["agent"], e["to_agent"], e["by"], e["kind"]) for e in events] == [("alice", "bob", "sue", "agent")]
    assert await audited(sb, "agent:sue", 1) == [("conversation.reassign", cid)]


async def alice_and_bob_in_conference(sb: Any) -> tuple[Client, Client, Client, Client, str]:
    """alice's chat with bob joined as a guest, and their supervisor sue:
    (alice, bob, sue, the customer, the conversation id)."""
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)
    await joined(cid, alice, bob, "bob")
    return alice, bob, sue, customer, cid


async def test_reassign_of_a_conference_removes_every_agent(sb):
    alice, bob, sue, customer, cid = await alice_and_bob_in_conference(sb)
    carol = await sb.available_agent("carol")
    await sue.ok({"type": "reassign", "conversation_id": cid, "agent": "carol"})
    await carol.expect("conversation.assigned", conversation_id=cid)
    assert (await bob.expect("chat.participant_left"))["agent"]["id"] == "bob"
    assert (await alice.expect("chat.transferred"))["by"]["id"] == "sue"
    await customer.expect("chat.connected", agent={"id": "carol", "display_name": "Carol"})
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [a["id"] for a in detail["card"]["agents"]] == ["carol"] and detail["card"]["status"] == "active"
    for gone in (alice, bob):
        assert (await gone.request({"type": "message", "conversation_id": cid, "text": "x"}))["code"] == "forbidden"


async def test_reassign_to_a_queue_waits_there_keeping_its_place_in_time(sb):
    await sb.queue("billing")
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    customer, cid = await connected(sb, alice)
    _later, newer = await sb.chat("billing", text="I came later")  # nobody of billing is signed in

    await sue.ok({"type": "reassign", "conversation_id": cid, "queue": "billing"})
    moved = await alice.expect("chat.transferred")
    assert moved["queue"]["id"] == "billing" and moved["by"]["id"] == "sue"
    await customer.expect("chat.transferred")
    queued = await customer.expect("chat.queued")
    assert queued["position"] == 1  # ahead of the chat that started after it
    carol = await sb.available_agent("carol", queues=["billing"])
    offer = await carol.expect("offer")
    assert offer["conversation_id"] == cid and offer["conversation_id"] != newer["conversation_id"]
    assert len(alice.received("offer")) == 1  # only the first: the chat is never offered back to her


async def test_a_conference_reassigned_to_a_queue_goes_to_none_of_the_agents_it_was_taken_from(sb):
    """Found by the routing property test: the guest, free again, got the chat straight back."""
    alice, bob, sue, _customer, cid = await alice_and_bob_in_conference(sb)

    await sue.ok({"type": "reassign", "conversation_id": cid, "queue": "support"})
    await bob.expect("chat.participant_left")
    # routing ran within the reassign: both are available, and it still waits
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status"] == "waiting" and detail["card"]["agents"] == []
    carol = await sb.available_agent("carol")
    assert (await carol.expect("offer"))["conversation_id"] == cid
    assert [o["kind"] for o in bob.received("offer")] == ["conference"]
    assert len(alice.received("offer")) == 1


async def test_reassign_refusals(sb):
    await sb.queue("other")
    alice = await sb.available_agent("alice")
    sue = await supervisor(sb)
    bob_token = await sb.agent("bob")  # support, but not signed in
    await sb.available_agent("olga", queues=["other"])
    _, cid = await connected(sb, alice)
    for command, code in (
        ({"agent": "bob"}, "conflict"),  # not available
        ({"agent": "olga"}, "forbidden"),  # not one of sue's agents
        ({"agent": "nobody"}, "not_found"),
        ({"agent": "alice"}, "conflict"),  # already has it
        ({"queue": "nowhere"}, "not_found"),
        ({}, "bad_request"),
        ({"agent": "bob", "queue": "other"}, "bad_request"),
    ):
        answer = await sue.request({"type": "reassign", "conversation_id": cid, **command})
        assert answer["code"] == code, (command, answer)
    assert (await alice.request({"type": "reassign", "conversation_id": cid, "queue": "other"}))["code"] == "forbidden"
    await alice.ok({"type": "end_session", "conversation_id": cid})
    bob, _ = await sb.agent_socket(bob_token)
    await bob.ok({"type": "set_state", "state": "available"})
    assert (await sue.request({"type": "reassign", "conversation_id": cid, "agent": "bob"}))["code"] == "conflict"
    assert bob.received("conversation.assigned") == []


# ---------------------------------------------------------------- force_state


async def test_force_state_sets_an_agent_not_ready_or_signs_it_out(sb):
    await sb.queue("other")
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob", queues=["other"])
    sue = await supervisor(sb)
    await sb.agent("sam", role="supervisor")

    state = await sue.ok({"type": "force_state", "agent": "alice", "state": "not_ready", "reason": "coaching"})
    assert state["state"] == "not_ready" and state["reason"] == "coaching"
    await alice.expect("agent.state", state="not_ready", reason="coaching")
    for agent, code in (("bob", "forbidden"), ("sam", "forbidden"), ("nobody", "not_found")):
        answer = await sue.request({"type": "force_state", "agent": agent, "state": "offline"})
        assert answer["code"] == code, (agent, answer)
    assert (await bob.request({"type": "force_state", "agent": "alice", "state": "offline"}))["code"] == "forbidden"
    refused = await sue.request({"type": "force_state", "agent": "alice", "state": "available"})
    assert refused["code"] == "bad_request"

    await sue.ok({"type": "force_state", "agent": "alice", "state": "offline"})
    assert (await alice.closed())[0] == 4401
    assert (await sb.admin("GET", "/api/v1/agents/alice"))["state"] == "offline"
    assert (await sb.admin("GET", "/api/v1/agents/bob"))["state"] == "available"
    assert await audited(sb, "agent:sue", 2) == [("agent.force_state", "alice"), ("agent.force_state", "alice")]
    trail = (await sb.http.get("/api/v1/audit", params={"action": "agent.force_state"})).json()["entries"]
    assert [e["after"]["state"] for e in trail] == ["offline", "not_ready"]
