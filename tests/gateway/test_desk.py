"""The agent desk operations of the contract: transfer, conference, notes,
supervisors, contact verification. Real sockets, real Redis."""

from __future__ import annotations

from typing import Any

from support import Client, eventually


async def connected(sb, agent: Client, text: str = "Hello", **start: Any) -> tuple[Client, str]:
    """A customer whose chat `agent` accepted; returns the customer and the conversation id."""
    customer, started = await sb.chat(text=text, **start)
    offer = await agent.expect("offer", conversation_id=started["conversation_id"])
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.expect("conversation.assigned", conversation_id=started["conversation_id"])
    await customer.expect("chat.connected")
    return customer, started["conversation_id"]


async def joined(cid: str, owner: Client, guest: Client, guest_id: str) -> None:
    """`owner` invites `guest_id` (whose socket is `guest`) into a conference; it accepts."""
    await owner.ok({"type": "conference", "conversation_id": cid, "agent": guest_id})
    offer = await guest.expect("offer", kind="conference")
    await guest.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await guest.expect("conversation.assigned", conversation_id=cid)


async def events_of(sb, type_: str) -> list[dict[str, Any]]:
    page = await sb.admin("GET", "/api/v1/events?limit=1000")
    return [e for e in page["events"] if e["type"] == type_]


async def set_state(agent: Client, state: str) -> None:
    await agent.ok({"type": "set_state", "state": state})


# ---------------------------------------------------------------- transfer to a queue


async def test_cold_transfer_to_a_queue_hands_the_whole_thread_to_the_next_agent(sb):
    await sb.queue("billing")
    alice = await sb.available_agent("alice", capacity=1)
    bob = await sb.available_agent("bob", queues=["billing"])
    customer, cid = await connected(sb, alice, text="My invoice is wrong")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "Let me send you to billing"})
    await alice.ok({"type": "note", "conversation_id": cid, "text": "VIP, be quick"})

    ack = await alice.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    assert ack["queue"] == "billing"
    transferred = await customer.expect("chat.transferred")
    assert transferred["conversation_id"] == cid and transferred["queue"] == {"id": "billing", "name": "Billing"}
    await alice.expect("chat.transferred", conversation_id=cid)  # her desk drops the chat

    offer = await bob.expect("offer", conversation_id=cid)
    assert offer["kind"] == "transfer"
    assert offer["from_agent"] == {"id": "alice", "display_name": "Alice"}
    assert offer["queue"] == {"id": "billing", "name": "Billing"}
    assert [m["text"] for m in offer["thread"]] == ["My invoice is wrong", "Let me send you to billing"]
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await bob.expect("conversation.assigned", conversation_id=cid)
    texts = [m.get("text") for m in assigned["messages"] if m["type"] in ("message", "note")]
    assert texts == ["My invoice is wrong", "Let me send you to billing", "VIP, be quick"]
    assert (await customer.expect("chat.connected"))["agent"]["id"] == "bob"

    # alice left at once: she cannot write any more, and her slot is free
    refused = await alice.request({"type": "message", "conversation_id": cid, "text": "still here?"})
    assert refused["code"] == "forbidden"
    await customer.ok({"type": "message", "text": "thanks"})
    assert (await bob.expect("message", conversation_id=cid))["text"] == "thanks"
    assert "thanks" not in [m["text"] for m in alice.received("message")]
    _, next_chat = await sb.chat(text="next")
    await alice.expect("offer", conversation_id=next_chat["conversation_id"])
    [event] = await events_of(sb, "session.transferred")
    assert event["agent"] == "alice" and event["queue"] == "billing" and event["from_queue"] == "support"


async def test_cold_transfer_waits_at_the_head_of_the_target_queue(sb):
    await sb.queue("billing")
    alice = await sb.available_agent("alice")
    _, _waiting_first = await sb.chat(queue="billing", text="I was here first")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    queued = await customer.expect("chat.queued")
    assert queued["position"] == 1
    bob = await sb.available_agent("bob", queues=["billing"], capacity=1)
    offer = await bob.expect("offer")
    assert offer["conversation_id"] == cid, "the transferred chat goes ahead of newer and older waiting ones"


async def test_transfer_before_accepting_is_conflict_and_by_a_stranger_forbidden(sb):
    alice = await sb.available_agent("alice")
    _, started = await sb.chat()
    cid = started["conversation_id"]
    await alice.expect("offer")
    before = await alice.request({"type": "transfer", "conversation_id": cid, "queue": "support"})
    assert before["code"] == "conflict"
    stranger = await sb.available_agent("mallory")
    refused = await stranger.request({"type": "transfer", "conversation_id": cid, "queue": "support"})
    assert refused["code"] == "forbidden"
    assert (await alice.request({"type": "transfer", "conversation_id": cid}))["code"] == "bad_request"
    both = await alice.request({"type": "transfer", "conversation_id": cid, "queue": "support", "agent": "bob"})
    assert both["code"] == "bad_request"


async def test_transfer_to_an_unknown_queue_or_agent_is_not_found_and_keeps_the_chat(sb):
    alice = await sb.available_agent("alice")
    customer, cid = await connected(sb, alice)
    assert (await alice.request({"type": "transfer", "conversation_id": cid, "queue": "nope"}))["code"] == "not_found"
    assert (await alice.request({"type": "transfer", "conversation_id": cid, "agent": "nobody"}))["code"] == "not_found"
    await alice.ok({"type": "message", "conversation_id": cid, "text": "still yours"})
    assert (await customer.expect("message", text="still yours"))["from"]["id"] == "alice"


# ---------------------------------------------------------------- transfer to an agent


async def test_warm_transfer_stays_with_the_sender_until_the_target_accepts(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    ack = await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="transfer")
    assert offer["offer_id"] == ack["offer_id"] and offer["conversation_id"] == cid
    assert offer["from_agent"] == {"id": "alice", "display_name": "Alice"}
    assert [m["text"] for m in offer["thread"]] == ["Hello"]

    # meanwhile alice still serves the customer
    await alice.ok({"type": "message", "conversation_id": cid, "text": "one moment"})
    await customer.expect("message", text="one moment")
    assert customer.received("chat.transferred") == []

    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await bob.expect("conversation.assigned", conversation_id=cid)
    assert [a["id"] for a in assigned["card"]["agents"]] == ["bob"]
    assert "one moment" in [m.get("text") for m in assigned["messages"]]
    transferred = await customer.expect("chat.transferred")
    assert transferred["agent"]["id"] == "bob"
    assert (await customer.expect("chat.connected"))["agent"] == {"id": "bob", "display_name": "Bob"}
    await alice.expect("chat.transferred", conversation_id=cid)
    assert (await alice.request({"type": "message", "conversation_id": cid, "text": "x"}))["code"] == "forbidden"
    await bob.ok({"type": "message", "conversation_id": cid, "text": "Bob here"})
    await customer.expect("message", text="Bob here")


async def test_warm_transfer_declined_gives_the_sender_transfer_failed_and_it_keeps_the_chat(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="transfer")
    await bob.ok({"type": "decline", "offer_id": offer["offer_id"]})
    failed = await alice.expect("transfer.failed")
    assert failed["conversation_id"] == cid and failed["reason"] == "declined" and failed["agent"]["id"] == "bob"
    await alice.ok({"type": "message", "conversation_id": cid, "text": "I stay with you"})
    await customer.expect("message", text="I stay with you")
    assert customer.received("chat.transferred") == []
    # the declining agent is not put in RONA and can be asked again
    assert (await sb.admin("GET", "/api/v1/agents/bob"))["state"] == "available"
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    await bob.expect("offer", kind="transfer")


async def test_warm_transfer_ringing_out_puts_the_target_in_rona_and_tells_the_sender(sb):
    await sb.queue("support", offer_timeout_s=0.3)
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="transfer")
    revoked = await bob.expect("offer.revoked")
    assert revoked == {"type": "offer.revoked", "offer_id": offer["offer_id"], "reason": "timeout"}
    assert (await bob.expect("agent.state"))["state"] == "rona"
    failed = await alice.expect("transfer.failed")
    assert failed["reason"] == "timeout"
    await alice.ok({"type": "message", "conversation_id": cid, "text": "still mine"})
    await customer.expect("message", text="still mine")
    rona = await events_of(sb, "session.rona")
    assert [e["kind"] for e in rona] == ["transfer"]


async def test_warm_transfer_needs_an_available_target_with_a_free_slot(sb):
    alice = await sb.available_agent("alice")
    busy = await sb.available_agent("busy", capacity=1)
    away = await sb.available_agent("away")
    await set_state(away, "not_ready")
    _, cid = await connected(sb, alice)
    _, _ = await connected(sb, busy)
    full = await alice.request({"type": "transfer", "conversation_id": cid, "agent": "busy"})
    assert full["code"] == "conflict" and "slot" in full["message"]
    not_ready = await alice.request({"type": "transfer", "conversation_id": cid, "agent": "away"})
    assert not_ready["code"] == "conflict" and "not_ready" in not_ready["message"]
    myself = await alice.request({"type": "transfer", "conversation_id": cid, "agent": "alice"})
    assert myself["code"] == "bad_request"


async def test_a_pending_transfer_offer_is_revoked_when_the_customer_leaves(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="transfer")
    await customer.ok({"type": "end_chat"})
    revoked = await bob.expect("offer.revoked")
    assert revoked["offer_id"] == offer["offer_id"] and revoked["reason"] == "customer_left"
    assert (await bob.request({"type": "accept", "offer_id": offer["offer_id"]}))["code"] == "not_found"


# ---------------------------------------------------------------- conference


async def test_conference_both_agents_write_and_read_and_everyone_sees_the_join(sb):
    alice = await sb.available_agent("alice", capacity=2)
    bob = await sb.available_agent("bob", capacity=2)
    customer, cid = await connected(sb, alice)
    ack = await alice.ok({"type": "conference", "conversation_id": cid, "agent": "bob"})
    requested = await alice.expect("conference.requested")
    assert requested["agent"]["id"] == "bob" and requested["offer_id"] == ack["offer_id"]
    offer = await bob.expect("offer", kind="conference")
    assert offer["from_agent"]["id"] == "alice"
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})

    assigned = await bob.expect("conversation.assigned", conversation_id=cid)
    assert assigned["card"]["status"] == "conference" and assigned["card"]["status_label"] == "Conference"
    assert {a["id"] for a in assigned["card"]["agents"]} == {"alice", "bob"}
    for party in (customer, alice):
        joined = await party.expect("chat.participant_joined")
        assert joined["agent"] == {"id": "bob", "display_name": "Bob"}
        system = await party.expect("message", text="Bob joined the conversation")
        assert system["from"] == {"role": "system"}
    started = await alice.expect("conference.started")
    assert started["agent"]["id"] == "bob"

    await bob.ok({"type": "message", "conversation_id": cid, "text": "Bob from tier 2"})
    await customer.expect("message", text="Bob from tier 2")
    await alice.expect("message", text="Bob from tier 2")
    await customer.ok({"type": "message", "text": "hi both"})
    await alice.expect("message", text="hi both")
    await bob.expect("message", text="hi both")
    await bob.ok({"type": "note", "conversation_id": cid, "text": "between us"})
    await alice.expect("note", text="between us")
    [event] = await events_of(sb, "session.conference_started")
    assert event["agent"] == "bob" and event["from_agent"] == "alice"


async def test_conference_counts_against_both_agents_capacity(sb):
    alice = await sb.available_agent("alice", capacity=2)
    bob = await sb.available_agent("bob", capacity=1)
    _, cid = await connected(sb, alice)
    await joined(cid, alice, bob, "bob")
    # bob's only slot is taken by the conference: the next chat goes to alice
    _, second = await sb.chat(text="second")
    offer = await alice.expect("offer", conversation_id=second["conversation_id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    _, third = await sb.chat(text="third")
    queued = await sb.admin("GET", "/api/v1/queues/support")
    assert queued["waiting"] == 1
    # the guest leaves: its slot frees and the waiting chat is offered to it
    await bob.ok({"type": "leave", "conversation_id": cid})
    await bob.expect("offer", conversation_id=third["conversation_id"])


async def test_leave_and_end_conference_tell_everyone(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    carol = await sb.available_agent("carol")
    customer, cid = await connected(sb, alice)
    for guest in (bob, carol):
        await alice.ok({"type": "conference", "conversation_id": cid, "agent": "bob" if guest is bob else "carol"})
        offer = await guest.expect("offer", kind="conference")
        await guest.ok({"type": "accept", "offer_id": offer["offer_id"]})
        await guest.expect("conversation.assigned")

    refused = await alice.request({"type": "leave", "conversation_id": cid})
    assert refused["code"] == "conflict", "the owner ends the conference, it does not leave"
    assert (await bob.request({"type": "end_conference", "conversation_id": cid}))["code"] == "forbidden"

    await bob.ok({"type": "leave", "conversation_id": cid})
    left = await customer.expect("chat.participant_left")
    assert left["agent"]["id"] == "bob"
    await customer.expect("message", text="Bob left the conversation")
    assert (await alice.expect("conference.ended"))["agent"]["id"] == "bob"
    assert (await bob.request({"type": "message", "conversation_id": cid, "text": "x"}))["code"] == "forbidden"

    await alice.ok({"type": "end_conference", "conversation_id": cid})
    left = await customer.expect("chat.participant_left")
    assert left["agent"]["id"] == "carol"
    await carol.expect("chat.participant_left")
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status"] == "active" and [a["id"] for a in detail["card"]["agents"]] == ["alice"]
    assert (await alice.request({"type": "end_conference", "conversation_id": cid}))["code"] == "conflict"
    ended = await events_of(sb, "session.conference_ended")
    assert [(e["agent"], e["reason"]) for e in ended] == [("bob", "left"), ("carol", "removed")]


async def test_conference_offer_rings_out_into_rona_and_the_owner_is_told(sb):
    await sb.queue("support", offer_timeout_s=0.3)
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "conference", "conversation_id": cid, "agent": "bob"})
    await bob.expect("offer", kind="conference")
    assert (await bob.expect("offer.revoked"))["reason"] == "timeout"
    assert (await bob.expect("agent.state"))["state"] == "rona"
    failed = await alice.expect("conference.failed")
    assert failed["reason"] == "timeout" and failed["agent"]["id"] == "bob"
    assert customer.received("chat.participant_joined") == []


async def test_only_the_owner_invites_and_a_second_invitation_waits_for_the_first(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    carol = await sb.available_agent("carol")
    _, cid = await connected(sb, alice)
    await alice.ok({"type": "conference", "conversation_id": cid, "agent": "bob"})
    pending = await alice.request({"type": "conference", "conversation_id": cid, "agent": "carol"})
    assert pending["code"] == "conflict"
    offer = await bob.expect("offer", kind="conference")
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.expect("conversation.assigned")
    guest_invites = await bob.request({"type": "conference", "conversation_id": cid, "agent": "carol"})
    assert guest_invites["code"] == "forbidden"
    in_conference = await alice.request({"type": "transfer", "conversation_id": cid, "queue": "support"})
    assert in_conference["code"] == "conflict"
    assert carol.received("offer") == []


async def test_end_session_in_a_conference_puts_both_agents_in_wrap_up(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await joined(cid, alice, bob, "bob")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    for agent in (alice, bob):
        assert (await agent.expect("chat.ended"))["reason"] == "agent_ended"
    await customer.expect("chat.ended")
    await bob.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "not_resolved"})
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["status"] == "closed" and card["color"] == "gray"


# ---------------------------------------------------------------- notes


async def test_notes_reach_agents_and_monitoring_supervisors_never_the_customer(sb):
    alice = await sb.available_agent("alice")
    token = await sb.agent("sue", role="supervisor")
    sue, _ = await sb.agent_socket(token)
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "monitor", "conversation_id": cid})
    note = await alice.ok({"type": "note", "conversation_id": cid, "text": "asked for a refund twice"})
    got = await sue.expect("note")
    assert got["text"] == "asked for a refund twice" and got["seq"] == note["seq"]
    await alice.ok({"type": "message", "conversation_id": cid, "text": "visible"})
    await customer.expect("message", text="visible")
    assert customer.received("note") == []
    assert all("refund" not in str(f) for f in customer.frames)
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [n["text"] for n in detail["notes"]] == ["asked for a refund twice"]
    assert "asked for a refund twice" not in [m["text"] for m in detail["messages"]]
    # a customer resuming its history never gets the note either
    again, _ = await sb.customer(
        visitor_token=customer.frames[0]["visitor_token"], resume={"conversation_id": cid, "last_seq": 0}
    )
    await again.expect("message", text="visible")
    assert again.received("note") == []


# ---------------------------------------------------------------- supervisors


async def test_request_help_reaches_the_supervisors_of_the_queue(sb):
    await sb.queue("sales")
    alice = await sb.available_agent("alice")
    sue_token = await sb.agent("sue", role="supervisor")
    sue, welcome = await sb.agent_socket(sue_token)
    assert welcome["agent"]["role"] == "supervisor" and welcome["monitoring"] == []
    other_token = await sb.agent("otto", role="supervisor", queues=["sales"])
    otto, _ = await sb.agent_socket(other_token)
    _, cid = await connected(sb, alice)
    ack = await alice.ok({"type": "request_help", "conversation_id": cid, "text": "angry customer"})
    assert ack["supervisors"] == 1
    help_ = await sue.expect("help.requested")
    assert help_["conversation_id"] == cid and help_["text"] == "angry customer"
    assert help_["agent"] == {"id": "alice", "display_name": "Alice"}
    assert help_["card"]["conversation_id"] == cid
    assert otto.received("help.requested") == []
    stranger = await sb.available_agent("mallory")
    assert (await stranger.request({"type": "request_help", "conversation_id": cid}))["code"] == "forbidden"


async def test_request_help_with_no_supervisor_online_is_a_clear_conflict(sb):
    alice = await sb.available_agent("alice")
    await sb.agent("sue", role="supervisor")  # exists, not connected
    _, cid = await connected(sb, alice)
    refused = await alice.request({"type": "request_help", "conversation_id": cid})
    assert refused["code"] == "conflict" and "supervisor" in refused["message"]


async def test_monitor_receives_the_conversation_silently_and_unmonitor_stops_it(sb):
    alice = await sb.available_agent("alice")
    sue_token = await sb.agent("sue", role="supervisor")
    sue, _ = await sb.agent_socket(sue_token)
    customer, cid = await connected(sb, alice, text="first words")
    ack = await sue.ok({"type": "monitor", "conversation_id": cid})
    assert ack["card"]["conversation_id"] == cid and ack["monitoring"] is True
    assert "first words" in [m.get("text") for m in ack["messages"]]

    await customer.ok({"type": "message", "text": "can anyone hear me"})
    await sue.expect("message", text="can anyone hear me")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "yes"})
    await sue.expect("message", text="yes")
    await customer.ok({"type": "typing", "active": True})
    await sue.expect("typing")
    # the supervisor cannot write into it, and nobody is told about the monitor
    assert (await sue.request({"type": "message", "conversation_id": cid, "text": "x"}))["code"] == "forbidden"
    assert customer.received("chat.participant_joined") == [] and alice.received("chat.participant_joined") == []

    await sue.ok({"type": "unmonitor", "conversation_id": cid})
    await alice.ok({"type": "message", "conversation_id": cid, "text": "after unmonitor"})
    await customer.expect("message", text="after unmonitor")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await customer.expect("chat.ended")
    assert "after unmonitor" not in [f.get("text") for f in sue.frames]
    assert sue.received("chat.ended") == []


async def test_monitoring_supervisor_sees_the_end_and_resumes_after_a_reconnect(sb):
    alice = await sb.available_agent("alice")
    sue_token = await sb.agent("sue", role="supervisor")
    sue, _ = await sb.agent_socket(sue_token)
    customer, cid = await connected(sb, alice)
    await sue.ok({"type": "monitor", "conversation_id": cid})
    await sue.close()
    await alice.ok({"type": "message", "conversation_id": cid, "text": "while sue was away"})
    history = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    last_seq = max(m["seq"] for m in history["messages"]) - 1
    sue, welcome = await sb.agent_socket(sue_token, resume={cid: last_seq})
    assert welcome["monitoring"] == [cid]
    await sue.expect("message", text="while sue was away")
    await customer.ok({"type": "end_chat"})
    assert (await sue.expect("chat.ended"))["reason"] == "customer_ended"


async def test_agents_cannot_monitor_and_supervisors_only_their_queues(sb):
    await sb.queue("sales")
    alice = await sb.available_agent("alice")
    _, cid = await connected(sb, alice)
    bob = await sb.available_agent("bob")
    refused = await bob.request({"type": "monitor", "conversation_id": cid})
    assert refused["code"] == "forbidden"
    token = await sb.agent("otto", role="supervisor", queues=["sales"])
    otto, _ = await sb.agent_socket(token)
    assert (await otto.request({"type": "monitor", "conversation_id": cid}))["code"] == "forbidden"
    assert (await otto.request({"type": "monitor", "conversation_id": "c-missing"}))["code"] == "not_found"


# ---------------------------------------------------------------- verify_contact


async def test_claimed_email_is_not_verified_until_an_agent_verifies_it(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice, customer={"name": "Ana", "email": "ana@example.com"})
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["customer"] == {"name": "Ana", "email": "ana@example.com", "verified": False}
    assert (await bob.request({"type": "verify_contact", "conversation_id": cid}))["code"] == "forbidden"

    ack = await alice.ok({"type": "verify_contact", "conversation_id": cid, "phone": "+41 44 123 45 67"})
    assert ack["card"]["customer"] == {
        "name": "Ana",
        "email": "ana@example.com",
        "phone": "+41 44 123 45 67",
        "verified": True,
    }
    update = await alice.expect("card")
    assert update["card"]["customer"]["verified"] is True
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["customer"]["verified"] is True
    assert customer.received("card") == []


async def test_verified_customer_shows_verified_in_the_next_offer_of_the_conversation(sb):
    alice = await sb.available_agent("alice")
    customer, cid = await connected(sb, alice, customer={"email": "ana@example.com"})
    await alice.ok({"type": "verify_contact", "conversation_id": cid, "email": "ana@corp.example"})
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await customer.expect("chat.ended")
    # a channel that goes on (the customer writes again) keeps the verification
    await customer.ok({"type": "message", "text": "one more thing"})
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["customer"] == {"email": "ana@corp.example", "verified": True}


# ---------------------------------------------------------------- agent resume


async def test_agent_reconnecting_in_grace_keeps_its_chats_and_replays_what_it_missed(sb):
    alice_token = await sb.agent("alice")
    alice, _ = await sb.agent_socket(alice_token)
    await set_state(alice, "available")
    customer, cid = await connected(sb, alice)
    mark = await alice.ok({"type": "message", "conversation_id": cid, "text": "seen"})
    await alice.close()
    await customer.ok({"type": "message", "text": "missed 1"})
    await customer.ok({"type": "message", "text": "missed 2"})
    alice, welcome = await sb.agent_socket(alice_token, resume={cid: mark["seq"]})
    assert [c["conversation_id"] for c in welcome["conversations"]] == [cid]
    assert welcome["state"]["state"] == "available"
    first = await alice.expect("message")
    second = await alice.expect("message")
    assert [first["text"], second["text"]] == ["missed 1", "missed 2"]
    assert second["seq"] == first["seq"] + 1 == mark["seq"] + 2
    await customer.ok({"type": "message", "text": "live"})
    await alice.expect("message", text="live")
    await eventually(lambda: _no_doubles(alice))


async def _no_doubles(client: Client) -> bool:
    seqs = [f["seq"] for f in client.frames if f.get("type") == "message"]
    return len(seqs) == len(set(seqs)) == 3


# ---------------------------------------------------------------- disconnects


async def test_conference_goes_on_with_the_guest_when_the_owner_is_gone(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.3)
    await sb.queue("support")
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await joined(cid, alice, bob, "bob")
    await alice.close()
    left = await customer.expect("chat.participant_left")
    assert left["agent"]["id"] == "alice"
    assert (await bob.expect("conference.ended"))["agent"]["id"] == "alice"
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["status"] == "active" and [a["id"] for a in card["agents"]] == ["bob"]
    # bob now owns it: he may hand it on
    await bob.ok({"type": "transfer", "conversation_id": cid, "queue": "support"})
    await customer.expect("chat.transferred")


async def test_warm_transfer_fails_at_once_when_the_target_disconnects(sb):
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    await bob.expect("offer", kind="transfer")
    await bob.close()
    failed = await alice.expect("transfer.failed")
    assert failed["reason"] == "agent_disconnected"
    await alice.ok({"type": "message", "conversation_id": cid, "text": "still here"})
    await customer.expect("message", text="still here")


async def test_a_pending_transfer_dies_with_its_sender_and_the_chat_is_queued_again(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.3)
    await sb.queue("support")
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, cid = await connected(sb, alice)
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="transfer")
    await alice.close()
    revoked = await bob.expect("offer.revoked", offer_id=offer["offer_id"])
    assert revoked["reason"] == "agent_disconnected"
    # the chat went back to the head of the queue and bob, still available, gets it
    requeued = await bob.expect("offer", conversation_id=cid)
    assert requeued["kind"] == "new"
    await customer.expect("chat.queued")


# ---------------------------------------------------------------- cards and wrap-up codes

CARD_FIELDS = {
    "conversation_id",
    "session_id",
    "title",
    "channel",
    "icon",
    "color",
    "status",
    "status_label",
    "queue",
    "agents",
    "customer",
    "journey",
    "queued_at",
    "duration_s",
}


async def card_of(sb, cid: str) -> dict[str, Any]:
    return (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]


async def test_a_card_through_its_life_colour_and_label(sb):
    await sb.queue("sales", wrap_up_codes=[{"code": "sold", "label": "Sold"}, {"code": "no_sale", "label": "No sale"}])
    alice = await sb.available_agent("alice", queues=["sales"])
    customer, _ = await sb.customer(page={"url": "https://shop.example/cart", "title": "Cart"})
    started = await customer.ok(
        {"type": "start_chat", "queue": "sales", "channel": "messaging", "customer": {"name": "Ana"}, "text": "hi"}
    )
    cid = started["conversation_id"]
    offer = await alice.expect("offer")
    card = await card_of(sb, cid)
    assert card.keys() >= CARD_FIELDS
    assert (card["title"], card["icon"], card["channel"]) == ("Messaging", "chat", "messaging")
    assert (card["status"], card["status_label"], card["color"]) == ("offered", "Offered", "blue")
    assert card["queue"] == {"id": "sales", "name": "Sales"} and card["customer"] == {"name": "Ana", "verified": False}
    assert [j["url"] for j in card["journey"]] == ["https://shop.example/cart"]

    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    card = await card_of(sb, cid)
    assert (card["status"], card["status_label"], card["color"]) == ("active", "Active", "blue")
    assert card["agents"] == [{"id": "alice", "display_name": "Alice"}] and card["connected_at"] >= card["queued_at"]

    await customer.ok({"type": "end_chat"})
    await alice.expect("chat.ended")
    card = await card_of(sb, cid)
    assert (card["status"], card["status_label"], card["color"]) == ("wrap_up", "Ended by customer", "white")
    assert card["end_reason"] == "customer_ended" and "wrap_up" not in card

    wrong = await alice.request({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    assert wrong["code"] == "bad_request" and "sold, no_sale" in wrong["message"]
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "sold", "notes": "2 items"})
    card = await card_of(sb, cid)
    assert (card["status"], card["status_label"], card["color"]) == ("closed", "Sold", "gray")
    assert card["wrap_up"] == {"code": "sold", "label": "Sold", "notes": "2 items"}
    assert card["ended_at"] >= card["connected_at"]


async def test_routing_steps_of_the_target_queue_count_from_the_transfer(sb):
    await sb.queue("tier2", skills=["tier2"], steps=[{"after_s": 0.3, "skills": []}])
    alice = await sb.available_agent("alice")
    generalist = await sb.available_agent("generalist", queues=["tier2"])
    _customer, cid = await connected(sb, alice)
    ack = await alice.ok({"type": "transfer", "conversation_id": cid, "queue": "tier2"})
    assert ack["queue"] == "tier2"
    offer = await generalist.expect("offer", conversation_id=cid, timeout=5)
    events = await events_of(sb, "session.transferred")
    assert offer["offered_at"] - events[0]["ts"] >= 300, "the step widened the targeting 0.3 s after the transfer"
